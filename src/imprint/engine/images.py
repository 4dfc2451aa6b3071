"""Training images: validate, normalise to the model's square RGB size, and derive augmented views."""

from __future__ import annotations

from collections.abc import Sequence

from PIL import Image, ImageOps

from imprint.engine.errors import BadInput, UnusableImages
from imprint.photos import modes
from imprint.photos.crop import crop_square

MIN_SIDE = 8
MIN_USABLE_IMAGES = 1
# Crop jitter keeps at least this share of the side, so the subject stays in the frame.
JITTER_KEEP = 0.9


def to_rgb(image: Image.Image) -> Image.Image:
    """Upright 8-bit RGB whatever the mode: transparent areas become white (see photos/modes.py)."""
    return modes.to_rgb(modes.upright(image))


def square(
    image: Image.Image, size: int, *, keep: float = 1.0, dx: float = 0.5, dy: float = 0.5
) -> Image.Image:
    """Crops a square of `keep` times the short side, placed at (dx, dy) in [0, 1] of the free room."""
    side = max(1, round(min(image.size) * keep))
    left = round((image.width - side) * dx)
    top = round((image.height - side) * dy)
    return image.crop((left, top, left + side, top + side)).resize((size, size), Image.Resampling.BICUBIC)


def prepare_images(
    images: Sequence[Image.Image], size: int, object_type: str | None = None
) -> list[Image.Image]:
    """RGB squares of `size` cut where the subject is (photos/crop.py: on the face when `object_type`
    names a person, else on what stands out), or UnusableImages naming each rejected input."""
    return [image for _, image in prepare_indexed(images, size, object_type)]


def prepare_indexed(
    images: Sequence[Image.Image], size: int, object_type: str | None = None
) -> list[tuple[int, Image.Image]]:
    """As prepare_images, each usable square with its index among the inputs."""
    if len(images) == 0:
        raise BadInput("no training images were given")
    usable: list[tuple[int, Image.Image]] = []
    reasons: dict[int, str] = {}
    for index, image in enumerate(images):
        if not isinstance(image, Image.Image):
            reasons[index] = f"not an image ({type(image).__name__})"
            continue
        if min(image.size) < MIN_SIDE:
            reasons[index] = (
                f"too small: {image.width}x{image.height}, need at least {MIN_SIDE}x{MIN_SIDE} pixels"
            )
            continue
        try:
            usable.append((index, crop_square(to_rgb(image), size, object_type)))
        except OSError as exc:  # truncated or undecodable data only shows up when pixels are read
            reasons[index] = f"could not be decoded: {exc}"
        except ValueError as exc:  # a mode no conversion to RGB exists for
            reasons[index] = f"could not be read: {exc}"
    if len(usable) < MIN_USABLE_IMAGES:
        detail = "; ".join(f"image {i}: {why}" for i, why in sorted(reasons.items()))
        raise UnusableImages(f"no usable training images ({detail})", reasons)
    return usable


def augmented_views(image: Image.Image, size: int, *, augment: bool) -> list[Image.Image]:
    """A small fixed set of views per image (identity, mirror, two jittered crops).

    A fixed set rather than fresh random crops every step is what lets the trainer VAE-encode each view
    once; with a handful of subject photos, four views per photo is already more variety than a few
    hundred steps can overfit to.
    """
    if not augment:
        return [image]
    mirrored = ImageOps.mirror(image)
    return [
        image,
        mirrored,
        square(image, size, keep=JITTER_KEEP, dx=0.0, dy=0.3),
        square(mirrored, size, keep=JITTER_KEEP, dx=1.0, dy=0.7),
    ]
