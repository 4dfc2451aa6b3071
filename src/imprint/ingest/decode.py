"""Decodes untrusted bytes into an upright RGB image within explicit limits, or says why it cannot.

Nothing here writes a file or touches Pillow's global settings (MAX_IMAGE_PIXELS,
LOAD_TRUNCATED_IMAGES): the limits come from the FetchPolicy and are checked before decoding.
"""

from __future__ import annotations

import io

from PIL import Image, UnidentifiedImageError

from imprint.ingest.policy import FetchPolicy
from imprint.photos.modes import to_rgb, upright


class ImageRejected(Exception):
    """The bytes are not an image this service will train on; the message says why."""


def decode_image(data: bytes, policy: FetchPolicy) -> Image.Image:
    """An RGB image, EXIF orientation applied, first frame only, short side at most `max_short_side`."""
    Image.init()  # registers the plugins, so a format this Pillow was built without is skipped below
    try:
        image = Image.open(io.BytesIO(data), formats=[f for f in policy.formats if f in Image.OPEN])
    except Image.DecompressionBombError as exc:
        raise ImageRejected(f"refused as a decompression bomb ({exc})") from None
    except UnidentifiedImageError:
        raise ImageRejected(_not_an_image(data, policy)) from None
    with image:
        _check_geometry(image.width, image.height, policy)
        _draft(image, policy.max_short_side)
        try:
            image.load()  # the first frame only: nothing seeks to later frames of an animation
        except Image.DecompressionBombError as exc:
            raise ImageRejected(f"refused as a decompression bomb ({exc})") from None
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            raise ImageRejected(f"the {image.format} data could not be decoded ({exc})") from None
        rgb = to_rgb(upright(image))
    rgb = _shrink(rgb, policy.max_short_side)
    # Orientation is already applied; dropping EXIF keeps a later exif_transpose from turning it twice.
    rgb.info.clear()
    return rgb


def _not_an_image(data: bytes, policy: FetchPolicy) -> str:
    head = data[:64].lstrip().lower()
    if not data:
        return "the response was empty"
    if head.startswith((b"<!doctype", b"<html", b"<?xml", b"<")):
        return "the response is HTML or XML, not an image"
    return f"not an image in an accepted format ({', '.join(policy.formats)})"


def _check_geometry(width: int, height: int, policy: FetchPolicy) -> None:
    if width * height > policy.max_pixels:
        raise ImageRejected(f"{width}x{height} is more than the {policy.max_pixels} pixel limit")
    size = f"{width}x{height}"
    if min(width, height) < policy.min_side:
        raise ImageRejected(f"{size} is too small; each side needs at least {policy.min_side} pixels")
    if max(width, height) > policy.max_aspect_ratio * min(width, height):
        raise ImageRejected(f"{size} is too elongated; at most {policy.max_aspect_ratio:g}:1 is accepted")


def _draft(image: Image.Image, short_side: int) -> None:
    """Lets the JPEG decoder skip detail that `_shrink` would throw away (a scale of 1/2 to 1/8)."""
    if image.format != "JPEG" or min(image.size) <= short_side:
        return
    scale = short_side / min(image.size)
    image.draft(None, (max(1, round(image.width * scale)), max(1, round(image.height * scale))))


def _shrink(image: Image.Image, short_side: int) -> Image.Image:
    if min(image.size) <= short_side:
        return image
    scale = short_side / min(image.size)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
