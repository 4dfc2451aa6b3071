"""Every image mode a photo or a caller can bring becomes the 8-bit RGB the eye expects: in memory
(the engine's entry) and from the file formats the service accepts (ingest's entry)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from photokit import encode
from PIL import Image

from imprint.engine.images import prepare_images, to_rgb
from imprint.ingest import FetchPolicy, decode_image

WHITE, BLACK, RED = (255, 255, 255), (0, 0, 0), (255, 0, 0)


def close(pixel: tuple[int, ...], expected: tuple[int, ...], tolerance: int = 3) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, expected, strict=True))


def two_values(mode: str, left: object, right: object, size: tuple[int, int] = (16, 8)) -> Image.Image:
    """Left half `left`, right half `right`."""
    if mode.startswith("I;16"):  # Pillow's paste() garbles 16-bit values; numpy does not
        values = np.full((size[1], size[0]), left, dtype=">u2" if mode == "I;16B" else "<u2")
        values[:, size[0] // 2:] = right
        image = Image.fromarray(values)
        assert image.mode == mode, image.mode
        return image
    image = Image.new(mode, size, left)  # type: ignore[arg-type]
    image.paste(right, (size[0] // 2, 0, size[0], size[1]))  # type: ignore[arg-type]
    return image


def palette_image(transparent: bool) -> Image.Image:
    image = two_values("P", 0, 1)
    image.putpalette([0, 0, 255, 255, 0, 0] + [0, 0, 0] * 254)
    if transparent:
        image.info["transparency"] = 0
    return image


def grey_with_trns(mode: str, marker: int, other: int) -> Image.Image:
    image = two_values(mode, marker, other)
    image.info["transparency"] = marker
    return image


def rgb_with_trns() -> Image.Image:
    image = two_values("RGB", (10, 20, 30), RED)
    image.info["transparency"] = (10, 20, 30)
    return image


# (name, image, expected left pixel, expected right pixel, tolerance)
IN_MEMORY = [
    ("1", two_values("1", 0, 1), BLACK, WHITE, 0),
    ("L", two_values("L", 0, 200), BLACK, (200,) * 3, 0),
    ("LA", two_values("LA", (0, 0), (60, 255)), WHITE, (60,) * 3, 0),
    ("La", two_values("La", (0, 0), (60, 255)), WHITE, (60,) * 3, 0),
    ("P", palette_image(False), (0, 0, 255), RED, 0),
    ("P with transparency", palette_image(True), WHITE, RED, 0),
    ("PA", two_values("RGBA", (0, 0, 0, 0), (255, 0, 0, 255)).convert("PA"), WHITE, RED, 0),
    ("RGB", two_values("RGB", (1, 2, 3), RED), (1, 2, 3), RED, 0),
    ("RGB with a transparent colour", rgb_with_trns(), WHITE, RED, 0),
    ("L with a transparent grey", grey_with_trns("L", 9, 80), WHITE, (80,) * 3, 0),
    ("RGBA", two_values("RGBA", (0, 0, 0, 0), (255, 0, 0, 255)), WHITE, RED, 0),
    ("RGBa", two_values("RGBa", (0, 0, 0, 0), (255, 0, 0, 255)), WHITE, RED, 0),
    ("RGBX", two_values("RGBX", (0, 0, 0, 0), (255, 0, 0, 0)), BLACK, RED, 0),
    ("CMYK", two_values("CMYK", (0, 0, 0, 0), (0, 255, 255, 0)), WHITE, RED, 0),
    ("YCbCr", two_values("YCbCr", (255, 128, 128), (76, 85, 255)), WHITE, RED, 3),
    # Pillow's 8-bit LAB: L scaled to 0-255, a and b offset by 128. CIE red is L 53, a 80, b 67.
    ("LAB", two_values("LAB", (255, 128, 128), (136, 208, 195)), WHITE, RED, 12),
    ("HSV", two_values("HSV", (0, 0, 255), (0, 255, 255)), WHITE, RED, 0),
    ("I;16", two_values("I;16", 65535, 128 * 257), WHITE, (128,) * 3, 0),
    ("I;16B", two_values("I;16B", 65535, 128 * 257), WHITE, (128,) * 3, 0),
    ("I;16 with a transparent grey", grey_with_trns("I;16", 4000, 65535), WHITE, WHITE, 0),
    ("I holding 16-bit values", two_values("I", 65535, 128 * 257), WHITE, (128,) * 3, 0),
    ("I holding 8-bit values", two_values("I", -5, 200), BLACK, (200,) * 3, 0),
    ("F from 0 to 1", two_values("F", 0.0, 0.5), BLACK, (128,) * 3, 0),
    ("F from 0 to 255", two_values("F", 300.0, 100.0), WHITE, (100,) * 3, 0),
]


@pytest.mark.parametrize(("name", "image", "left", "right", "tolerance"), IN_MEMORY,
                         ids=[case[0] for case in IN_MEMORY])
def test_every_mode_becomes_the_rgb_it_shows(name: str, image: Image.Image, left: tuple[int, ...],
                                             right: tuple[int, ...], tolerance: int) -> None:
    rgb = to_rgb(image)
    assert rgb.mode == "RGB" and rgb.size == image.size
    assert close(rgb.getpixel((2, 4)), left, tolerance), rgb.getpixel((2, 4))
    assert close(rgb.getpixel((13, 4)), right, tolerance), rgb.getpixel((13, 4))


def test_the_16_bit_transparent_grey_is_matched_before_scaling() -> None:
    # 4000 and 4100 both scale to grey 16; only the marked one may turn white.
    image = grey_with_trns("I;16", 4000, 4100)
    rgb = to_rgb(image)
    assert rgb.getpixel((2, 4)) == WHITE and rgb.getpixel((13, 4)) == (16, 16, 16)


def test_nan_in_a_float_image_is_black_not_an_error() -> None:
    image = Image.fromarray(np.array([[np.nan, 0.25] * 8] * 8, dtype=np.float32), "F")
    rgb = to_rgb(image)
    assert rgb.getpixel((0, 0)) == BLACK and rgb.getpixel((1, 0)) == (64, 64, 64)


def test_every_mode_trains_as_a_square_of_the_model_size() -> None:
    squares = prepare_images([image for _, image, *_ in IN_MEMORY], 32, "cat")
    assert [(s.mode, s.size) for s in squares] == [("RGB", (32, 32))] * len(IN_MEMORY)


# From files: each mode in the formats that can hold it, decoded as the service decodes a download.

FILES = [
    ("1", "PNG", two_values("1", 0, 1), {}, BLACK, WHITE, 0),
    ("1", "BMP", two_values("1", 0, 1), {}, BLACK, WHITE, 0),
    ("L", "PNG", two_values("L", 0, 200), {}, BLACK, (200,) * 3, 0),
    ("L", "JPEG", two_values("L", 0, 200), {"quality": 95}, BLACK, (200,) * 3, 4),
    ("L with tRNS", "PNG", two_values("L", 9, 80), {"transparency": 9}, WHITE, (80,) * 3, 0),
    ("LA", "PNG", two_values("LA", (0, 0), (60, 255)), {}, WHITE, (60,) * 3, 0),
    ("P", "GIF", palette_image(False), {}, (0, 0, 255), RED, 0),
    ("P with transparency", "GIF", palette_image(False), {"transparency": 0}, WHITE, RED, 0),
    ("P with tRNS", "PNG", palette_image(False), {"transparency": 0}, WHITE, RED, 0),
    ("P", "BMP", palette_image(False), {}, (0, 0, 255), RED, 0),
    ("RGB with tRNS", "PNG", two_values("RGB", (10, 20, 30), RED), {"transparency": (10, 20, 30)}, WHITE,
     RED, 0),
    ("RGBA", "PNG", two_values("RGBA", (0, 0, 0, 0), (255, 0, 0, 255)), {}, WHITE, RED, 0),
    ("RGBA", "WEBP", two_values("RGBA", (0, 0, 0, 0), (255, 0, 0, 255)), {"lossless": True}, WHITE, RED, 0),
    ("CMYK", "JPEG", two_values("CMYK", (0, 0, 0, 0), (0, 255, 255, 0)), {"quality": 95}, WHITE, RED, 8),
    ("I;16", "PNG", two_values("I;16", 65535, 128 * 257), {}, WHITE, (128,) * 3, 0),
]


@pytest.mark.parametrize(("name", "fmt", "image", "params", "left", "right", "tolerance"), FILES,
                         ids=[f"{case[0]} {case[1]}" for case in FILES])
def test_every_mode_from_a_file_becomes_the_rgb_it_shows(name: str, fmt: str, image: Image.Image,
                                                         params: dict[str, object], left: tuple[int, ...],
                                                         right: tuple[int, ...], tolerance: int) -> None:
    data = encode(image, fmt, **params)
    stored = Image.open(io.BytesIO(data))
    assert stored.mode.split(";")[0] == name.split()[0].split(";")[0], stored.mode  # the file kept the mode
    rgb = decode_image(data, FetchPolicy())
    assert rgb.mode == "RGB" and rgb.size == image.size
    assert close(rgb.getpixel((2, 4)), left, tolerance), rgb.getpixel((2, 4))
    assert close(rgb.getpixel((13, 4)), right, tolerance), rgb.getpixel((13, 4))
