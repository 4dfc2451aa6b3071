"""Real photographs that ship inside the scikit-image wheel (skimage/data/*.png: read from the
installed package, nothing downloaded), with regions marked by hand on them."""

from __future__ import annotations

import io
from typing import Any

from PIL import Image, ImageFilter
from skimage import data

# (left, top, right, bottom) in each photo's own pixels.
CHELSEA_EYES_AND_NOSE = (137, 85, 342, 268)  # the cat's two eyes and its nose
COFFEE_CUP = (172, 16, 410, 300)  # the cup, rim to handle
ASTRONAUT_FACE = (177, 66, 272, 161)  # Eileen Collins' face


def astronaut() -> Image.Image:
    return Image.fromarray(data.astronaut())


def chelsea() -> Image.Image:
    return Image.fromarray(data.chelsea())


def coffee() -> Image.Image:
    return Image.fromarray(data.coffee())


def blurred_coffee(size: tuple[int, int]) -> Image.Image:
    """A real but featureless background: the coffee photo stretched and blurred."""
    return coffee().resize(size).filter(ImageFilter.GaussianBlur(10))


def pasted(photo: Image.Image, size: tuple[int, int], at: tuple[int, int]) -> Image.Image:
    canvas = blurred_coffee(size)
    canvas.paste(photo, at)
    return canvas


def shifted(box: tuple[int, int, int, int], by: tuple[int, int]) -> tuple[int, int, int, int]:
    return box[0] + by[0], box[1] + by[1], box[2] + by[0], box[3] + by[1]


def inside(inner: tuple[int, int, int, int], outer: tuple[int, int, int, int]) -> bool:
    return outer[0] <= inner[0] and outer[1] <= inner[1] and inner[2] <= outer[2] and inner[3] <= outer[3]


def encode(image: Image.Image, fmt: str, **params: Any) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **params)
    return buf.getvalue()
