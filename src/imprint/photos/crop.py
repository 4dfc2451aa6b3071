"""The square a training picture is cut to: the whole short side, slid along the long side to where
the subject is.

- Square pictures are used whole.
- When the object type names a person ("girl", "young man", "child"...), the square is centred on the
  largest face OpenCV's cascades find (faces.py), as far as the picture's edges allow.
- Otherwise, or when no face is found: the position whose square holds the most spectral-residual
  saliency (saliency.py); of the positions within SALIENCY_TOLERANCE of that best one, the one nearest
  the centre, so a picture whose content is spread evenly keeps its centre crop.
- When every position is within that tolerance (content spread evenly, one flat colour), or the
  picture has no saliency at all, the square is cut in the centre.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from PIL import Image

from imprint.photos.faces import Box, find_faces
from imprint.photos.saliency import saliency_map

PEOPLE = frozenset({
    "person", "persons", "people", "human", "humans", "man", "men", "woman", "women", "boy", "boys",
    "girl", "girls", "child", "children", "kid", "kids", "baby", "babies", "toddler", "toddlers", "teen",
    "teens", "teenager", "teenagers", "adult", "adults", "lady", "ladies", "gentleman", "gentlemen", "guy",
    "guys", "gal", "bride", "groom", "husband", "wife", "father", "mother", "dad", "mom", "mum", "daddy",
    "mommy", "mummy", "son", "daughter", "brother", "sister", "grandfather", "grandmother", "grandpa",
    "grandma", "granny", "grandson", "granddaughter", "uncle", "aunt", "nephew", "niece", "cousin",
    "friend", "boyfriend", "girlfriend", "self", "selfie", "portrait", "face", "infant", "newborn",
})
# Positions whose square holds at least this share of the best one's saliency count as equally good.
SALIENCY_TOLERANCE = 0.95

Rule = Literal["whole", "face", "saliency", "centre"]


@dataclass(frozen=True)
class SquareCrop:
    left: int
    top: int
    side: int
    rule: Rule
    face: Box | None = None

    @property
    def box(self) -> tuple[int, int, int, int]:
        return self.left, self.top, self.left + self.side, self.top + self.side


def names_a_person(object_type: str | None) -> bool:
    return bool(object_type) and any(word in PEOPLE for word in object_type.lower().split())


def choose_square(image: Image.Image, object_type: str | None = None) -> SquareCrop:
    """Where the square of `image` (any mode) for a subject of `object_type` goes; see the module."""
    width, height = image.size
    side = min(width, height)
    if width == height:
        return SquareCrop(0, 0, side, "whole")
    if names_a_person(object_type):
        faces = find_faces(image)
        if faces:
            x, y = faces[0].centre
            return _placed(width, height, side, x if width > height else y, "face", faces[0])
    found, scale = saliency_map(image)
    profile = found.sum(axis=0) if width > height else found.sum(axis=1)
    window = min(len(profile), max(1, round(side * scale)))
    sums = np.convolve(profile, np.ones(window), mode="valid")
    if not np.isfinite(sums).all() or sums.max() <= 0:
        return _placed(width, height, side, max(width, height) / 2, "centre")
    good = np.flatnonzero(sums >= SALIENCY_TOLERANCE * sums.max())
    if len(good) == len(sums):  # no position stands out
        return _placed(width, height, side, max(width, height) / 2, "centre")
    middle = (len(sums) - 1) / 2
    start = float(good[np.argmin(np.abs(good - middle))])
    return _placed(width, height, side, (start + window / 2) / scale, "saliency")


def crop_square(image: Image.Image, size: int, object_type: str | None = None) -> Image.Image:
    """`image` cut to the square `choose_square` picks and resized to `size` x `size`."""
    return image.crop(choose_square(image, object_type).box).resize((size, size), Image.Resampling.BICUBIC)


def _placed(width: int, height: int, side: int, centre: float, rule: Rule,
            face: Box | None = None) -> SquareCrop:
    """The square centred at `centre` along the long side, moved inside the picture."""
    start = int(min(max(round(centre - side / 2), 0), max(width, height) - side))
    if width > height:
        return SquareCrop(start, 0, side, rule, face)
    return SquareCrop(0, start, side, rule, face)
