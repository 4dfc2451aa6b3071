"""Where a picture's content stands out, for placing the crop of a subject that is not a person.

OpenCV's spectral-residual static saliency (Hou & Zhang, CVPR 2007; `cv2.saliency`, in the
opencv-contrib-python-headless wheel): the log amplitude spectrum minus its local average marks what
is unexpected in the picture. It needs no trained weights. OpenCV computes it at 64x64.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

# The map is only used to sum columns or rows; finer than this changes nothing at 64x64.
MAP_LONG_SIDE = 256


def saliency_map(image: Image.Image) -> tuple[np.ndarray, float]:
    """A float map of `image` scaled so its long side is at most MAP_LONG_SIDE, and that scale."""
    scale = min(1.0, MAP_LONG_SIDE / max(image.size))
    small = image.convert("RGB")
    if scale < 1.0:
        small = small.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))),
                             Image.Resampling.BOX)
    bgr = cv2.cvtColor(np.asarray(small), cv2.COLOR_RGB2BGR)
    ok, found = cv2.saliency.StaticSaliencySpectralResidual_create().computeSaliency(bgr)
    if not ok:
        return np.zeros((small.height, small.width)), scale
    return np.nan_to_num(np.asarray(found, dtype=np.float64)), scale
