"""Hostile and awkward images: bombs, lies and broken files are refused with a reason; odd modes,
animations and EXIF orientation come out as upright RGB."""

from __future__ import annotations

import io
import struct
import time
import warnings
import zlib
from collections.abc import Iterator

import pytest
from ingestkit import ScriptedServer, encode, loopback_policy, no_resolver, photo, png_bomb
from PIL import Image, ImageFile

from imprint.ingest import FetchPolicy, ImageFetchError, ImageRejected, decode_image, fetch_images

POLICY = FetchPolicy()


def rejected(data: bytes, policy: FetchPolicy = POLICY) -> str:
    with pytest.raises(ImageRejected) as info:
        decode_image(data, policy)
    return str(info.value)


def close(pixel: tuple[int, ...], expected: tuple[int, ...], tolerance: int = 12) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, expected, strict=True))


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


# Bombs: refused from the header, quickly, whatever Pillow's global limit says.

def test_a_20000_by_20000_png_bomb_is_refused_without_decoding() -> None:
    bomb = png_bomb(20_000, 20_000)
    assert len(bomb) < 200_000
    started = time.monotonic()
    reason = rejected(bomb)
    assert "bomb" in reason or "pixel limit" in reason
    assert time.monotonic() - started < 5


def test_the_pixel_budget_is_ours_not_pillows() -> None:
    # 81M pixels: under Pillow's global warning threshold (89M), over the policy's 40M.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        reason = rejected(png_bomb(9_000, 9_000))
    assert "9000x9000 is more than the 40000000 pixel limit" in reason
    assert "pixel limit" in rejected(photo((200, 200)), FetchPolicy(max_pixels=10_000))
    assert Image.MAX_IMAGE_PIXELS == 89_478_485 and ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_a_gif_whose_screen_is_huge_is_refused() -> None:
    frame = encode(Image.new("P", (1, 1)), "GIF")
    bomb = frame[:6] + struct.pack("<HH", 65535, 65535) + frame[10:]
    reason = rejected(bomb)
    assert "bomb" in reason or "pixel limit" in reason


def test_a_jpeg_that_claims_huge_dimensions_is_refused() -> None:
    data = bytearray(encode(Image.new("RGB", (16, 16), "red"), "JPEG"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", 60_000, 60_000)
    reason = rejected(bytes(data))
    assert "bomb" in reason or "pixel limit" in reason


# Broken files and things that are not images.

def test_a_truncated_png_is_refused() -> None:
    data = photo((300, 200))
    assert "could not be decoded" in rejected(data[: len(data) // 2])


def test_a_truncated_jpeg_is_refused() -> None:
    data = encode(Image.effect_noise((300, 200), 60).convert("RGB"), "JPEG", quality=95)
    assert "truncated" in rejected(data[: len(data) // 2])


def test_a_png_that_is_really_html_is_refused() -> None:
    assert "HTML" in rejected(b"<!DOCTYPE html><html><body>Not Found</body></html>")


@pytest.mark.parametrize(("data", "why"), [
    (b"", "empty"),
    (b"\x89PNG\r\n\x1a\n", "accepted format"),
    (bytes(range(256)) * 8, "accepted format"),
    (b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n", "accepted format"),
])
def test_garbage_is_refused(data: bytes, why: str) -> None:
    assert why in rejected(data)


@pytest.mark.parametrize("fmt", ["TIFF", "ICO", "PPM"])
def test_formats_outside_the_accepted_set_are_refused(fmt: str) -> None:
    assert "accepted format (JPEG, PNG, WEBP, GIF, BMP)" in rejected(encode(Image.new("RGB", (32, 32)), fmt))


@pytest.mark.parametrize(("size", "why"), [
    ((1, 100_000), "too small"),
    ((100_000, 1), "too small"),
    ((4, 4), "too small"),
    ((20, 400), "too elongated"),
])
def test_degenerate_shapes_are_refused(size: tuple[int, int], why: str) -> None:
    reason = rejected(encode(Image.new("L", size), "PNG"))
    assert why in reason and f"{size[0]}x{size[1]}" in reason


# Awkward but valid: normalised to upright RGB.

def test_an_animated_gif_gives_its_first_frame() -> None:
    frames = [Image.new("RGB", (32, 32), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=50, loop=0)
    image = decode_image(buf.getvalue(), POLICY)
    assert image.mode == "RGB" and image.size == (32, 32)
    assert close(image.getpixel((16, 16)), (255, 0, 0))


def test_a_cmyk_jpeg_becomes_rgb() -> None:
    data = encode(Image.new("CMYK", (32, 32), (0, 255, 255, 0)), "JPEG", quality=95)
    assert Image.open(io.BytesIO(data)).mode == "CMYK"
    image = decode_image(data, POLICY)
    assert image.mode == "RGB" and close(image.getpixel((16, 16)), (255, 0, 0), 20)


def test_a_16_bit_grey_png_keeps_its_greys() -> None:
    source = Image.new("I;16", (32, 32), 128 * 257)
    source.paste(65535, (0, 0, 16, 32))
    data = encode(source, "PNG")
    assert Image.open(io.BytesIO(data)).mode.startswith("I")
    image = decode_image(data, POLICY)
    assert image.mode == "RGB"
    assert image.getpixel((8, 8)) == (255, 255, 255) and image.getpixel((24, 8)) == (128, 128, 128)


def test_a_16_bit_rgb_png_becomes_8_bit_rgb() -> None:
    width, height = 16, 16
    row = b"\0" + struct.pack(">HHH", 0xFF00, 0x8000, 0x0000) * width
    header = struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)
    data = (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(row * height))
            + _chunk(b"IEND", b""))
    image = decode_image(data, POLICY)
    assert image.mode == "RGB" and close(image.getpixel((8, 8)), (255, 128, 0), 2)


def test_a_palette_image_with_transparency_gets_a_white_background() -> None:
    source = Image.new("P", (32, 32), 0)
    source.putpalette([0, 0, 0, 255, 0, 0] + [0, 0, 0] * 254)
    source.paste(1, (16, 0, 32, 32))
    data = encode(source, "PNG", transparency=0)
    image = decode_image(data, POLICY)
    assert image.mode == "RGB"
    assert image.getpixel((4, 4)) == (255, 255, 255) and image.getpixel((28, 4)) == (255, 0, 0)


@pytest.mark.parametrize("mode", ["RGBA", "LA"])
def test_alpha_becomes_white(mode: str) -> None:
    source = Image.new("RGBA", (32, 32), (0, 0, 0, 0))
    source.paste((0, 0, 0, 255), (16, 0, 32, 32))
    image = decode_image(encode(source.convert(mode), "PNG"), POLICY)
    assert image.getpixel((4, 4)) == (255, 255, 255) and image.getpixel((28, 4)) == (0, 0, 0)


def two_tone_jpeg(orientation: int | None, exif_bytes: bytes | None = None) -> bytes:
    """40x20 as stored: left half red, right half blue."""
    source = Image.new("RGB", (40, 20), (0, 0, 255))
    source.paste((255, 0, 0), (0, 0, 20, 20))
    if exif_bytes is None and orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = orientation
        exif_bytes = exif.tobytes()
    return encode(source, "JPEG", quality=95, **({"exif": exif_bytes} if exif_bytes else {}))


RED, BLUE = (255, 0, 0), (0, 0, 255)


@pytest.mark.parametrize(("orientation", "size", "first", "second"), [
    (None, (40, 20), ((5, 10), RED), ((35, 10), BLUE)),
    (3, (40, 20), ((5, 10), BLUE), ((35, 10), RED)),     # turned 180 degrees
    (6, (20, 40), ((10, 5), RED), ((10, 35), BLUE)),     # shown turned 90 degrees clockwise
    (8, (20, 40), ((10, 5), BLUE), ((10, 35), RED)),     # shown turned 90 degrees anticlockwise
])
def test_exif_orientation_is_applied_once(orientation: int | None, size: tuple[int, int],
                                          first: tuple[tuple[int, int], tuple[int, int, int]],
                                          second: tuple[tuple[int, int], tuple[int, int, int]]) -> None:
    image = decode_image(two_tone_jpeg(orientation), POLICY)
    assert image.size == size
    assert close(image.getpixel(first[0]), first[1]) and close(image.getpixel(second[0]), second[1])
    # No orientation is left behind for a later exif_transpose (the engine's) to apply again.
    assert 0x0112 not in image.getexif() and "exif" not in image.info


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")
def test_unreadable_exif_leaves_the_image_usable() -> None:
    garbage = b"Exif\0\0MM\0*\xff\xff\xff\xff" + b"\x00" * 40
    image = decode_image(two_tone_jpeg(None, exif_bytes=garbage), POLICY)
    assert image.size == (40, 20)


def test_big_images_are_scaled_down_to_the_short_side_limit() -> None:
    policy = FetchPolicy(max_short_side=100)
    assert decode_image(photo((400, 300)), policy).size == (133, 100)
    jpeg = encode(Image.new("RGB", (1600, 1200), "green"), "JPEG")
    assert decode_image(jpeg, policy).size == (133, 100)
    assert decode_image(photo((90, 60)), policy).size == (90, 60)


@pytest.mark.parametrize("fmt", ["WEBP", "BMP", "JPEG", "PNG", "GIF"])
def test_the_accepted_formats_decode(fmt: str) -> None:
    image = decode_image(encode(Image.new("RGB", (24, 24), (10, 200, 30)), fmt), POLICY)
    assert image.mode == "RGB" and image.size == (24, 24)


# Through the fetcher: each rejected image has its own reason, readable by index.

@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    srv = ScriptedServer()
    yield srv
    srv.close()


def test_fetch_images_names_every_rejected_image(server: ScriptedServer) -> None:
    urls = [
        server.serve("/ok.png", photo()),
        server.serve("/page.png", b"<html><body>login</body></html>", "image/png"),
        server.serve("/bomb.png", png_bomb(20_000, 20_000)),
        server.serve("/cut.png", photo((300, 200))[:500]),
        server.serve("/thin.png", encode(Image.new("L", (1, 100_000)), "PNG")),
    ]
    with pytest.raises(ImageFetchError) as info:
        fetch_images(urls, loopback_policy(), resolver=no_resolver)
    reasons = info.value.reasons
    assert sorted(reasons) == [1, 2, 3, 4]
    assert "HTML" in reasons[1] and "/page.png" in reasons[1]
    assert "bomb" in reasons[2] or "pixel limit" in reasons[2]
    assert "could not be decoded" in reasons[3]
    assert "too small" in reasons[4]
    assert all(f"image {i}:" in str(info.value) for i in (1, 2, 3, 4))
