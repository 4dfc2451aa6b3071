"""Any Pillow image mode to 8-bit RGB, and EXIF orientation applied, without surprises.

Pillow's own `convert("RGB")` clips 16- and 32-bit greys at 255 (a 16-bit photo turns white), ignores
the transparency of palette and grey images, and maps LAB channel for channel. These are what a
photo's file can hold (PNG: 1, L, LA, I;16, P, RGB, RGBA and a tRNS colour; JPEG: L, RGB, CMYK; WebP:
RGB, RGBA; GIF: P; BMP: 1, L, P, RGB, RGBA), plus the modes a caller of the Python API may hand over.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageCms, ImageOps

SIXTEEN_BIT = ("I;16", "I;16L", "I;16B", "I;16N")
WITH_ALPHA = ("RGBA", "LA", "PA")
# Premultiplied alpha, undone first (Pillow converts La to nothing but LA).
PREMULTIPLIED = {"RGBa": "RGBA", "La": "LA"}
# Transparent areas become white, as most viewers show them; black would read as part of the subject.
BACKGROUND = (255, 255, 255)


def upright(image: Image.Image) -> Image.Image:
    """The image turned as its EXIF Orientation tag says (a copy without that tag), or as it is."""
    try:
        return ImageOps.exif_transpose(image)
    except Exception:
        # Unreadable EXIF says nothing trustworthy about orientation; the pixels are still usable.
        return image.copy()


def to_rgb(image: Image.Image) -> Image.Image:
    """8-bit RGB whatever the mode; transparent pixels become white.

    16-bit greys (I;16*) are scaled by 1/257 (65535 -> 255). Mode I is read as 16-bit when any value is
    above 255 and as 8-bit otherwise; mode F as 0-1 when no value is above 1 and as 0-255 otherwise.
    Values outside the range are clipped. Raises ValueError for a mode it cannot read.
    """
    if image.mode in PREMULTIPLIED:
        image = image.convert(PREMULTIPLIED[image.mode])
    alpha = _alpha(image)
    if image.mode in SIXTEEN_BIT or image.mode in ("I", "F"):
        image = _grey_to_l(image)
    elif image.mode == "LAB":
        lab, srgb = ImageCms.createProfile("LAB"), ImageCms.createProfile("sRGB")
        image = ImageCms.profileToProfile(image, lab, srgb, outputMode="RGB")
    elif image.mode in ("P", "PA"):
        image = image.convert("RGBA")
    rgb = image.convert("RGB")
    if alpha is None:
        return rgb
    background = Image.new("RGB", rgb.size, BACKGROUND)
    background.paste(rgb, mask=alpha)
    return background


def _alpha(image: Image.Image) -> Image.Image | None:
    """The image's opacity as an L mask, or None when every pixel is opaque."""
    if image.mode in WITH_ALPHA or image.mode == "P" and "transparency" in image.info:
        return image.convert("RGBA").getchannel("A")
    transparent = image.info.get("transparency")
    if transparent is None or image.mode in ("RGBA", "LA"):
        return None
    # One colour marked transparent (PNG tRNS on a grey or RGB image), compared in the image's own
    # values so that a 16-bit grey's marker matches before scaling.
    values = np.asarray(image)
    hit = np.all(values == np.asarray(transparent), axis=-1) if values.ndim == 3 else values == transparent
    return Image.fromarray(np.where(hit, 0, 255).astype(np.uint8), "L")


def _grey_to_l(image: Image.Image) -> Image.Image:
    values = np.asarray(image.convert("F") if image.mode != "F" else image, dtype=np.float64)
    finite = values[np.isfinite(values)]
    top = float(finite.max()) if finite.size else 0.0
    if image.mode in SIXTEEN_BIT or image.mode == "I" and top > 255:
        values = values / 257.0
    elif image.mode == "F" and top <= 1.0:
        values = values * 255.0
    values = np.nan_to_num(values, nan=0.0, posinf=255.0, neginf=0.0)
    return Image.fromarray(np.clip(np.rint(values), 0, 255).astype(np.uint8), "L")
