"""Sizes from the smallest the service accepts to its pixel limit: each end is accepted, one pixel
past it is refused with the reason, and what is accepted trains as a square."""

from __future__ import annotations

import pytest
from ingest.ingestkit import png_bomb  # tests/ is on the path (pyproject); a big, valid, all-zero PNG
from photokit import COFFEE_CUP, coffee, encode, inside
from PIL import Image

from imprint.engine import UnusableImages
from imprint.engine.images import MIN_SIDE, prepare_images
from imprint.ingest import FetchPolicy, ImageRejected, decode_image
from imprint.photos.crop import choose_square

POLICY = FetchPolicy()


def test_the_limits_agree() -> None:
    assert POLICY.min_side == MIN_SIDE == 8 and POLICY.max_pixels == 40_000_000


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "GIF", "BMP"])
def test_the_smallest_accepted_picture_trains(fmt: str) -> None:
    small = coffee().resize((8, 8))
    image = decode_image(encode(small, fmt), POLICY)
    assert image.size == (8, 8)
    assert prepare_images([image], 64, "cup")[0].size == (64, 64)


@pytest.mark.parametrize(("size", "why"), [((7, 8), "too small"), ((8, 81), "too elongated")])
def test_one_pixel_under_the_smallest_is_refused(size: tuple[int, int], why: str) -> None:
    with pytest.raises(ImageRejected, match=why):
        decode_image(encode(Image.new("RGB", size), "PNG"), POLICY)
    assert decode_image(encode(Image.new("RGB", (8, 80)), "PNG"), POLICY).size == (8, 80)


def test_the_engine_refuses_what_is_too_small_with_the_reason() -> None:
    with pytest.raises(UnusableImages, match="7x8"):
        prepare_images([Image.new("RGB", (7, 8))], 64)


def test_a_photo_of_exactly_the_pixel_limit_is_accepted_and_scaled_down() -> None:
    # 8000 x 5000 = 40,000,000 pixels: the real coffee photo blown up to the limit.
    big = encode(coffee().convert("L").resize((8000, 5000)), "JPEG", quality=80)
    image = decode_image(big, POLICY)
    assert image.size == (3277, 2048) and image.mode == "RGB"
    crop = choose_square(image, "cup")
    sx, sy = 3277 / 600, 2048 / 400  # the 600x400 photo as decoded
    left, top, right, bottom = COFFEE_CUP
    cup = (round(left * sx), round(top * sy), round(right * sx), round(bottom * sy))
    assert crop.side == 2048 and inside(cup, crop.box), (crop, cup)


def test_a_png_of_exactly_the_pixel_limit_is_accepted_and_one_row_more_refused() -> None:
    assert decode_image(png_bomb(8000, 5000), POLICY).size == (3277, 2048)
    with pytest.raises(ImageRejected, match="8000x5001 is more than the 40000000 pixel limit"):
        decode_image(png_bomb(8000, 5001), POLICY)
