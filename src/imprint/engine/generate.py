"""Text-to-image with a warm base pipeline and per-request adapters.

One pipeline stays loaded; adapters come and go through an LRU of warm LoRA adapters, and switching
between warm ones is an unfuse/fuse of LoRA weights, not a reload (see fusion). A request's N images
share one denoising loop.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image

from imprint.engine.adapter_cache import AdapterCache, AdapterStats
from imprint.engine.base_model import BaseModel
from imprint.engine.errors import BadInput
from imprint.engine.fusion import Fuser
from imprint.engine.identifier import substitute
from imprint.engine.progress import ProgressCallback, StepClock
from imprint.engine.sampling import decode, denoise

MAX_IMAGES = 16
MAX_STEPS = 200
MAX_SIDE = 2048


@dataclass
class GenerateRequest:
    """`prompt` names the subject as `<special-token>`, which becomes the adapter's identifier and
    object type ("<id> dog"). Without an adapter there is no subject to insert, so the marker is
    dropped. Image i of the request uses seed `seed + i`."""

    prompt: str
    adapter: Path | None = None
    num_images: int = 1
    seed: int = 0
    steps: int = 25
    guidance_scale: float = 4.0
    negative_prompt: str | None = None
    width: int | None = None
    height: int | None = None
    adapter_scale: float = 1.0


class Generator:
    """Thread-safe: requests are served one at a time on the warm pipeline (one lock)."""

    def __init__(self, base: BaseModel, *, max_adapters: int = 8) -> None:
        self.base = base
        self._pipe = base.working_pipeline()
        self._adapters = AdapterCache(self._pipe, max_adapters)
        self._fuser = Fuser(self._pipe, base.pipeline, self._adapters)
        self._lock = threading.Lock()
        # Width and height must survive the VAE and every UNet downsampling as whole numbers.
        self._size_multiple = self._pipe.vae_scale_factor * 2 ** (
            len(self._pipe.unet.config.block_out_channels) - 1
        )

    def generate(
        self,
        request: GenerateRequest,
        *,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> list[Image.Image]:
        width, height = self._validate(request)
        clock = StepClock("generating", request.steps, progress, cancel)
        with self._lock:
            clock.check_cancel()
            subject = self._activate(request.adapter, request.adapter_scale)
            negative = substitute(request.negative_prompt, subject) if request.negative_prompt else None
            generators = [torch.Generator().manual_seed(request.seed + i) for i in range(request.num_images)]

            clock.start()
            latents = denoise(
                self._pipe,
                substitute(request.prompt, subject),
                negative_prompt=negative,
                generators=generators,
                steps=request.steps,
                guidance_scale=request.guidance_scale,
                width=width,
                height=height,
                on_step=clock.step,
            )
            return decode(self._pipe, latents)

    def preload(self, adapter: Path) -> None:
        """Warms an adapter ahead of its first request (e.g. right after training)."""
        with self._lock:
            if self._adapters.peek(Path(adapter)) is None:
                self._fuser.unfuse()  # a load may evict the fused adapter
            self._adapters.get(Path(adapter))

    def stats(self) -> AdapterStats:
        """Adapter cache counters and timings; does not wait for a running generation."""
        return self._adapters.stats()

    def _activate(self, adapter: Path | None, scale: float) -> str | None:
        """Fuses the request's adapter (if not fused already) and returns its subject phrase."""
        if adapter is None:
            self._fuser.clear()
            return None
        if not self._fuser.is_fused(self._adapters.peek(Path(adapter)), scale):
            self._fuser.unfuse()  # before the cache may evict, and so delete, the fused adapter
        warm = self._adapters.get(Path(adapter))
        self._fuser.fuse(warm, scale)
        return warm.subject

    def _validate(self, request: GenerateRequest) -> tuple[int, int]:
        width = request.width or self.base.image_size
        height = request.height or self.base.image_size
        problems = []
        if not 1 <= request.num_images <= MAX_IMAGES:
            problems.append(f"num_images must be 1..{MAX_IMAGES}, got {request.num_images}")
        if not 1 <= request.steps <= MAX_STEPS:
            problems.append(f"steps must be 1..{MAX_STEPS}, got {request.steps}")
        if request.guidance_scale < 0:
            problems.append(f"guidance_scale must be >= 0, got {request.guidance_scale}")
        for label, side in (("width", width), ("height", height)):
            if not 0 < side <= MAX_SIDE or side % self._size_multiple:
                problems.append(
                    f"{label} must be a multiple of {self._size_multiple} up to {MAX_SIDE}, got {side}"
                )
        if problems:
            raise BadInput("; ".join(problems))
        return width, height
