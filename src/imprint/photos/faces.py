"""People's faces in a photo, for placing the training crop on them.

OpenCV's Haar cascades (Viola-Jones boosted classifiers, trained by OpenCV's authors and published
with it) ship as XML inside the opencv-contrib-python-headless wheel, under `cv2.data.haarcascades`:
nothing is downloaded and no GPU is needed. OpenCV 5's main wheel (opencv-python-headless) no longer
carries the cascades nor `CascadeClassifier`; its `FaceDetectorYN` needs a YuNet ONNX file that no
OpenCV wheel ships, and MediaPipe's wheel ships no face-detection model either.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cache

import cv2
import numpy as np
from PIL import Image

FRONTAL = "haarcascade_frontalface_alt2.xml"
# Trained on faces turned one way; run on the mirrored picture too for the other.
PROFILE = "haarcascade_profileface.xml"
# Detection runs on a copy this long at most: a 2048-pixel photo costs ~5x as much for faces that
# are, for a subject photo, large anyway.
DETECT_LONG_SIDE = 800
# A face smaller than this share of the picture's short side is someone in the background.
MIN_FACE_SHARE = 0.05
# Overlapping detections a face needs (OpenCV's minNeighbors): fewer lets textures pass as faces.
MIN_NEIGHBOURS = 5


@dataclass(frozen=True)
class Box:
    left: int
    top: int
    width: int
    height: int

    @property
    def centre(self) -> tuple[float, float]:
        return self.left + self.width / 2, self.top + self.height / 2

    @property
    def area(self) -> int:
        return self.width * self.height


def find_faces(image: Image.Image) -> list[Box]:
    """Faces in `image` (any mode) in its own pixel coordinates, largest first; frontal faces, or
    profiles when no frontal face is found."""
    scale = min(1.0, DETECT_LONG_SIDE / max(image.size))
    small = image.convert("L")
    if scale < 1.0:
        small = small.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))),
                             Image.Resampling.BOX)
    grey = cv2.equalizeHist(np.asarray(small))
    min_side = max(20, round(MIN_FACE_SHARE * min(grey.shape)))
    found = _detect(FRONTAL, grey, min_side)
    if not found:
        found = _detect(PROFILE, grey, min_side)
        width = grey.shape[1]
        found += [Box(width - b.left - b.width, b.top, b.width, b.height)
                  for b in _detect(PROFILE, np.ascontiguousarray(grey[:, ::-1]), min_side)]
    boxes = [Box(round(b.left / scale), round(b.top / scale), round(b.width / scale), round(b.height / scale))
             for b in found]
    return sorted(boxes, key=lambda b: b.area, reverse=True)


def _detect(cascade_file: str, grey: np.ndarray, min_side: int) -> list[Box]:
    classifier, lock = _cascade(cascade_file)
    with lock:  # one classifier object is not documented as safe to share between threads
        hits = classifier.detectMultiScale(grey, scaleFactor=1.1, minNeighbors=MIN_NEIGHBOURS,
                                           minSize=(min_side, min_side))
    return [Box(int(x), int(y), int(w), int(h)) for x, y, w, h in hits]


@cache
def _cascade(name: str) -> tuple[cv2.CascadeClassifier, threading.Lock]:
    classifier = cv2.CascadeClassifier(cv2.data.haarcascades + name)
    if classifier.empty():
        raise RuntimeError(f"OpenCV's {name} could not be loaded from {cv2.data.haarcascades}; "
                           "install opencv-contrib-python-headless (the plain OpenCV 5 wheel lacks it)")
    return classifier, threading.Lock()
