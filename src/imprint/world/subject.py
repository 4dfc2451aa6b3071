"""A subject of the procedural world: its attributes, how to sample one, how to caption it."""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass

from imprint.world.vocabulary import (
    ACCESSORIES,
    ACCESSORY_COLOURS,
    COLOURS_BY_TYPE,
    PATTERNS,
    SCENE_PHRASES,
    SCENES,
    SUBJECT_TYPES,
)


@dataclass(frozen=True)
class Subject:
    """What makes one subject instance recognisable: the things an observer can name."""

    kind: str
    colour: str
    pattern: str = "plain"
    accessory: str = "none"
    accessory_colour: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in SUBJECT_TYPES:
            raise ValueError(f"unknown subject type {self.kind!r}; known: {', '.join(SUBJECT_TYPES)}")
        if self.colour not in COLOURS_BY_TYPE[self.kind]:
            raise ValueError(f"a {self.kind} cannot be {self.colour!r}")
        if self.pattern not in PATTERNS:
            raise ValueError(f"unknown pattern {self.pattern!r}")
        if self.accessory not in ACCESSORIES:
            raise ValueError(f"unknown accessory {self.accessory!r}")
        needs_colour = self.accessory in ("hat", "scarf")
        if needs_colour and self.accessory_colour not in ACCESSORY_COLOURS:
            raise ValueError(f"a {self.accessory} needs a colour from {ACCESSORY_COLOURS}")
        if not needs_colour and self.accessory_colour is not None:
            raise ValueError(f"a {self.accessory} accessory takes no colour")

    @classmethod
    def sample(cls, rng: random.Random, kind: str | None = None) -> Subject:
        kind = kind or rng.choice(SUBJECT_TYPES)
        accessory = rng.choice(ACCESSORIES)
        return cls(
            kind=kind,
            colour=rng.choice(COLOURS_BY_TYPE[kind]),
            pattern=rng.choice(PATTERNS),
            accessory=accessory,
            accessory_colour=rng.choice(ACCESSORY_COLOURS) if accessory in ("hat", "scarf") else None,
        )

    def describe(self, *, colour: bool = True, pattern: bool = True, accessory: bool = True) -> str:
        """Noun phrase such as "a brown spotted dog with a red scarf"; parts can be left out."""
        return "a " + noun_phrase(
            self.kind,
            colour=self.colour if colour else None,
            pattern=self.pattern if pattern else None,
            accessory=self.accessory if accessory else None,
            accessory_colour=self.accessory_colour,
        )

    def as_dict(self) -> dict[str, str | None]:
        return asdict(self)


def noun_phrase(kind: str, *, colour: str | None = None, pattern: str | None = None,
                accessory: str | None = None, accessory_colour: str | None = None) -> str:
    """The world's words for a subject without its article ("brown spotted dog with a red scarf");
    a part given as None (or plain, or no accessory) is left unsaid, and so is a hat or scarf whose
    colour is unknown."""
    words = [colour or "", pattern if pattern != "plain" else "", kind]
    if accessory == "glasses":
        words.append("with glasses")
    elif accessory in ("hat", "scarf") and accessory_colour:
        words.append(f"with a {accessory_colour} {accessory}")
    return " ".join(w for w in words if w)


def caption(subject: Subject, scene: str, **parts: bool) -> str:
    if scene not in SCENES:
        raise ValueError(f"unknown scene {scene!r}; known: {', '.join(SCENES)}")
    return f"{subject.describe(**parts)} {SCENE_PHRASES[scene]}"


def training_caption(subject: Subject, scene: str, rng: random.Random) -> str:
    """A caption with parts randomly left out, so prompts that name only some attributes (or only
    the class word, as a DreamBooth prompt does) still match what the model saw. An empty caption
    now and then trains the unconditional branch that classifier-free guidance needs."""
    if rng.random() < 0.1:
        return ""
    text = subject.describe(
        colour=rng.random() > 0.15, pattern=rng.random() > 0.15, accessory=rng.random() > 0.15
    )
    if rng.random() > 0.1:
        text += " " + SCENE_PHRASES[scene]
    return text
