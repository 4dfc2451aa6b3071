"""The engine of `imprint serve --mock`: no model, for client integration tests.

Training takes about a second in real progress steps and writes a small adapter file marked as a
mock; generation draws deterministic placeholder PNGs of the asked size with the prompt written on
them. Everything around the engine (signatures, fetching training images, the job states, storage,
webhooks) runs as it does with a model.
"""

from __future__ import annotations

import hashlib
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from safetensors.numpy import save_file

from imprint.worker.engine_runtime import Fraction, Warn

TRAIN_SECONDS = 1.0
TRAIN_STEPS_SHOWN = 10
DEFAULT_SIZE = 512


class MockEngine:
    source = "mock"
    image_size = DEFAULT_SIZE

    def train(self, images: list[Image.Image], *, object_type: str, out_path: Path, steps: int, seed: int,
              progress: Fraction, cancel: threading.Event, warn: Warn | None = None,
              label: str = "") -> None:
        for step in range(1, TRAIN_STEPS_SHOWN + 1):
            if cancel.wait(TRAIN_SECONDS / TRAIN_STEPS_SHOWN):
                raise _cancelled()
            progress(step / TRAIN_STEPS_SHOWN)
        save_file({"mock": np.zeros(1, dtype=np.float32)}, str(out_path),
                  metadata={"imprint.mock": "true", "object_type": object_type, "steps": str(steps),
                            "images": str(len(images))})

    def generate(self, *, prompt: str, adapter: Path | None, num_images: int, seed: int,
                 progress: Fraction, cancel: threading.Event, controls: object = None,
                 **unused: object) -> list[Image.Image]:
        """Of the generation controls only the size matters to a placeholder; steps, strength and the
        rest arrive in `unused`."""
        size = (getattr(controls, "width", None) or DEFAULT_SIZE,
                getattr(controls, "height", None) or DEFAULT_SIZE)
        images = []
        for index in range(num_images):
            if cancel.is_set():
                raise _cancelled()
            images.append(placeholder(prompt, size, seed=seed, index=index))
            progress((index + 1) / num_images)
        time.sleep(0)  # yields, as a real step would, so cancellation is seen between jobs
        return images


    def dropped_prompt_text(self, prompt: str, adapter: Path | None) -> tuple[int, str] | None:
        """A placeholder reads the whole prompt."""
        return None


def _cancelled() -> Exception:
    # Imported only when needed: the engine package loads torch and diffusers, which mock mode avoids.
    from imprint.engine.errors import Cancelled

    return Cancelled("stopped")


def placeholder(prompt: str, size: tuple[int, int], *, seed: int, index: int) -> Image.Image:
    """The same prompt, size, seed and index always give the same pixels."""
    digest = hashlib.sha256(f"{prompt}\0{seed}\0{index}".encode()).digest()
    background = (64 + digest[0] // 2, 64 + digest[1] // 2, 64 + digest[2] // 2)
    image = Image.new("RGB", size, background)
    draw = ImageDraw.Draw(image)
    width = max(8, size[0] // 7)  # characters of the default font per line
    lines = [f"MOCK #{index} seed {seed}", *textwrap.wrap(prompt, width)]
    draw.multiline_text((8, 8), "\n".join(lines), fill=(255, 255, 255))
    return image
