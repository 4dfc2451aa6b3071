"""EXIF orientation, all eight values, on a real photograph: what trains is what the camera's owner
saw, whether the picture came as a download (ingest) or as an image handed to the engine."""

from __future__ import annotations

import io

import numpy as np
import pytest
from photokit import astronaut, encode
from PIL import Image

from imprint.engine.images import prepare_images
from imprint.ingest import FetchPolicy, decode_image
from imprint.photos.faces import find_faces

# How a camera stores a picture for each Orientation value: the inverse of what a viewer then does.
STORED = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


def upright_photo() -> Image.Image:
    """A real portrait-format photo (300x400) with a face near the top."""
    return astronaut().crop((80, 0, 380, 400))


def as_camera_stores(photo: Image.Image, orientation: int) -> bytes:
    stored = photo if STORED[orientation] is None else photo.transpose(STORED[orientation])
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode(stored, "JPEG", quality=95, exif=exif.tobytes())


def difference(a: Image.Image, b: Image.Image) -> float:
    return float(np.abs(np.asarray(a, dtype=np.int16) - np.asarray(b, dtype=np.int16)).mean())


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_orientation_is_decoded_upright(orientation: int) -> None:
    photo = upright_photo()
    image = decode_image(as_camera_stores(photo, orientation), FetchPolicy())
    assert image.size == photo.size
    assert difference(image, photo) < 3  # JPEG noise only; a wrong turn differs by tens
    # OpenCV's frontal-face cascade only finds upright faces: one more witness that it is upright.
    assert len(find_faces(image)) == 1


@pytest.mark.parametrize("orientation", [3, 5, 6, 8])
def test_the_engine_turns_an_image_upright_before_the_face_crop(orientation: int) -> None:
    photo = upright_photo()
    opened = Image.open(io.BytesIO(as_camera_stores(photo, orientation)))
    [square] = prepare_images([opened], 64, "woman")
    expected = photo.crop((0, 0, 300, 300)).resize((64, 64), Image.Resampling.BICUBIC)
    assert difference(square, expected) < 4


def test_a_wrong_turn_would_be_noticed() -> None:
    photo = upright_photo()
    turned = decode_image(encode(photo.transpose(Image.Transpose.ROTATE_180), "JPEG", quality=95),
                          FetchPolicy())
    assert difference(turned, photo) > 20
