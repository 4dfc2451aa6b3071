"""The words of the procedural world: what a subject can be, look like and stand in.

Every visual variable the renderer draws is named here and appears in captions, so the base model
can learn all of it from text; only position and scale jitter are left undescribed.
"""

from __future__ import annotations

SUBJECT_TYPES: tuple[str, ...] = ("girl", "boy", "woman", "man", "dog", "cat", "panda")
HUMAN_TYPES: frozenset[str] = frozenset({"girl", "boy", "woman", "man"})

# Hair colour for people, fur colour for animals (for a panda: the colour of its dark patches,
# so white is not offered there: white patches on a white body would be invisible).
COLOURS: tuple[str, ...] = ("black", "white", "brown", "golden", "gray", "red")
COLOURS_BY_TYPE: dict[str, tuple[str, ...]] = {
    t: COLOURS for t in SUBJECT_TYPES if t != "panda"
} | {"panda": ("black", "brown", "gray", "red")}

# Pattern of the coat (animals) or of the clothes (people).
PATTERNS: tuple[str, ...] = ("plain", "spotted", "striped")

ACCESSORIES: tuple[str, ...] = ("none", "hat", "scarf", "glasses")
# Glasses are always drawn with dark frames: their colour is not an attribute.
ACCESSORY_COLOURS: tuple[str, ...] = ("red", "blue", "green", "yellow")

SCENES: tuple[str, ...] = ("beach", "snow", "forest", "city", "night", "room")
SCENE_PHRASES: dict[str, str] = {
    "beach": "on the beach",
    "snow": "in the snow",
    "forest": "in the forest",
    "city": "in the city",
    "night": "at night",
    "room": "in a room",
}

RGB: dict[str, tuple[int, int, int]] = {
    "black": (30, 30, 34),
    "white": (245, 245, 240),
    "brown": (120, 70, 30),
    "golden": (230, 180, 50),
    "gray": (140, 140, 145),
    "red": (200, 50, 35),
    "blue": (40, 80, 220),
    "green": (40, 170, 60),
    "yellow": (250, 225, 40),
}

# Rare words that never occur in captions: free identifiers for DreamBooth-style subjects.
# (letters only: CLIP's pre-tokenizer splits digits off a word).
SPARE_IDENTIFIERS: tuple[str, ...] = (
    "sks", "zwx", "qiv", "vux", "jop", "kyq", "xoz", "wub",
    "yeq", "fip", "zaj", "quv", "hix", "vog", "jyx", "bqo",
)

CAPTION_WORDS: tuple[str, ...] = (
    "a", "the", "photo", "of", "with", "on", "in", "at", "hat", "scarf", "glasses",
    "beach", "snow", "forest", "city", "night", "room",
)


def all_words() -> list[str]:
    """Every word a caption or prompt of this world can use, without duplicates, stable order."""
    words = list(CAPTION_WORDS) + list(SUBJECT_TYPES) + list(COLOURS) + list(PATTERNS)
    words += list(ACCESSORY_COLOURS)
    return list(dict.fromkeys(words))
