from __future__ import annotations

import pytest
from PIL import Image

from imprint.engine import BadInput, UnusableImages
from imprint.engine.images import augmented_views, prepare_images, to_rgb


def test_modes_become_rgb_squares_of_the_model_size() -> None:
    images = [
        Image.new("L", (80, 40), 128),
        Image.new("RGBA", (30, 50), (10, 20, 30, 0)),
        Image.new("P", (64, 64)),
        Image.new("CMYK", (20, 20)),
        Image.new("RGB", (300, 100), (1, 2, 3)),
    ]
    out = prepare_images(images, 64)
    assert [(im.mode, im.size) for im in out] == [("RGB", (64, 64))] * 5


def test_transparent_pixels_become_white() -> None:
    assert to_rgb(Image.new("RGBA", (10, 10), (0, 0, 0, 0))).getpixel((5, 5)) == (255, 255, 255)


def test_zero_images_is_bad_input() -> None:
    with pytest.raises(BadInput, match="no training images"):
        prepare_images([], 64)


def test_tiny_images_are_rejected_with_a_reason_per_index() -> None:
    with pytest.raises(UnusableImages) as err:
        prepare_images([Image.new("RGB", (1, 1)), Image.new("RGB", (7, 100))], 64)
    assert set(err.value.reasons) == {0, 1}
    assert "1x1" in err.value.reasons[0] and "too small" in str(err.value)
    assert isinstance(err.value, BadInput)


def test_usable_images_survive_unusable_neighbours() -> None:
    assert len(prepare_images([Image.new("RGB", (1, 1)), Image.new("RGB", (16, 16))], 64)) == 1


def test_augmentation_gives_a_fixed_set_of_views() -> None:
    image = Image.new("RGB", (64, 64))
    assert len(augmented_views(image, 64, augment=False)) == 1
    views = augmented_views(image, 64, augment=True)
    assert len(views) == 4 and all(v.size == (64, 64) for v in views)
