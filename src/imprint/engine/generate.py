"""Text-to-image with a warm base pipeline and per-request adapters.

One pipeline stays loaded; adapters come and go through an LRU of warm LoRA adapters, and switching
between warm ones is an unfuse/fuse of LoRA weights, not a reload (see fusion). A request's N images
share one denoising loop. `generate_batch` serves several queued requests in one loop, each with its
own adapter applied per sample (see batched_lora, request_batch).
"""

from __future__ import annotations

import threading
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import torch
from PIL import Image

from imprint.engine.adapter_cache import AdapterCache, AdapterStats, WarmAdapter
from imprint.engine.base_model import BaseModel
from imprint.engine.batched_lora import PerSampleLoRA, Unbatchable
from imprint.engine.errors import BadInput
from imprint.engine.fusion import Fuser
from imprint.engine.identifier import substitute
from imprint.engine.progress import ProgressCallback, StepClock
from imprint.engine.request_batch import BatchItem, Member, Outcome, Routing, plan_batches
from imprint.engine.sampling import decode, denoise, denoise_embeds, encode_prompts
from imprint.engine.schedulers import SCHEDULERS, Schedulers

MAX_IMAGES = 16
MAX_STEPS = 200
MAX_SIDE = 2048
MAX_BATCH_REQUESTS = 8  # requests per shared loop in generate_batch, unless told otherwise


class _AllStopped(Exception):
    """Every request of a loop was cancelled or failed: nobody is waiting for the rest of it."""


@dataclass
class GenerateRequest:
    """`prompt` names the subject as `<special-token>`, which becomes the adapter's identifier and
    object type ("<id> dog"). Without an adapter there is no subject to insert, so the marker is
    dropped. Image i of the request uses seed `seed + i`. Without a guidance scale the request gets
    the base model's own (`BaseModel.guidance_scale`)."""

    prompt: str
    adapter: Path | None = None
    num_images: int = 1
    seed: int = 0
    steps: int = 25
    guidance_scale: float | None = None
    negative_prompt: str | None = None
    width: int | None = None
    height: int | None = None
    adapter_scale: float = 1.0
    # One of SCHEDULERS; None: the pipeline's own.
    scheduler: str | None = None


class Generator:
    """Thread-safe: requests are served one at a time on the warm pipeline (one lock)."""

    def __init__(self, base: BaseModel, *, max_adapters: int = 8) -> None:
        self.base = base
        self._pipe = base.working_pipeline()
        self._adapters = AdapterCache(self._pipe, max_adapters)
        self._fuser = Fuser(self._pipe, base.pipeline, self._adapters)
        self._lock = threading.Lock()
        # Width and height must survive the VAE as whole numbers (StableDiffusionPipeline asks multiples
        # of 8 of SD); the UNet matches odd latent sizes itself when upsampling (its upsample_size).
        self._size_multiple = self._pipe.vae_scale_factor
        self._schedulers = Schedulers(self._pipe.scheduler)

    def generate(
        self,
        request: GenerateRequest,
        *,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> list[Image.Image]:
        request = self._resolved(request)
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
                scheduler=self._schedulers.get(request.scheduler),
            )
            return decode(self._pipe, latents)

    def generate_batch(
        self, items: Sequence[BatchItem | GenerateRequest], *, max_requests: int = MAX_BATCH_REQUESTS
    ) -> list[Outcome]:
        """Each request's images (or its error: BadInput, Cancelled, a progress callback's exception), in
        order. Compatible requests (`batch_key`) share denoising loops of up to `max_requests` requests,
        with each request's adapter applied to its own rows only; image i of a request is the image
        `generate` gives it (same seed + i, equal up to float rounding). Loops run one after another,
        each holding the lock, so single `generate` calls can get in between."""
        members = [
            replace(item, request=self._resolved(item.request))
            if isinstance(item, BatchItem)
            else BatchItem(self._resolved(item))
            for item in items
        ]
        outcomes: list[Outcome | None] = [None] * len(members)
        keys: list[Hashable] = []
        for i, item in enumerate(members):
            try:
                keys.append(self.batch_key(item.request))
            except BadInput as exc:
                outcomes[i] = exc
                keys.append(("invalid", i))  # alone, and skipped below
        plan = plan_batches(
            keys,
            [_choice_of(item.request)[0] for item in members],
            max_adapters=self._adapters.capacity,
            max_requests=max(1, max_requests),
        )
        for batch in plan:
            batch = [i for i in batch if outcomes[i] is None]
            if batch:
                for i, outcome in zip(batch, self._run_batch([members[i] for i in batch]), strict=True):
                    outcomes[i] = outcome
        return [outcome for outcome in outcomes if outcome is not None]

    def batch_key(self, request: GenerateRequest) -> Hashable:
        """Requests with equal keys can share a denoising loop; BadInput for an invalid request."""
        request = self._resolved(request)
        width, height = self._validate(request)
        return (request.steps, request.guidance_scale, width, height, request.scheduler)

    def _resolved(self, request: GenerateRequest) -> GenerateRequest:
        """The request with the base model's guidance scale where it names none."""
        if request.guidance_scale is not None:
            return request
        return replace(request, guidance_scale=self.base.guidance_scale)

    def _run_batch(self, items: list[BatchItem]) -> list[Outcome]:
        request = items[0].request
        width, height = self._validate(request)
        members = [
            Member(item, StepClock("generating", request.steps, item.progress, item.cancel)) for item in items
        ]
        with self._lock:
            for member in members:
                member.guard(member.clock.check_cancel)
            try:
                routing = self._prepare_adapters([m for m in members if m.error is None])
                with (
                    PerSampleLoRA(self._fuser.text_lora_layers(), routing.choices) as text_lora,
                    PerSampleLoRA(self._fuser.lora_layers("unet"), routing.choices) as unet_lora,
                ):
                    self._run_loop(
                        [m for m in members if m.error is None], text_lora, unet_lora, width, height
                    )
                return [m.outcome() for m in members]
            except Unbatchable:
                pass
        # An adapter the per-sample path cannot apply: each request on its own, fused.
        return [self._one_by_one(member.item) for member in members]

    def _prepare_adapters(self, members: list[Member]) -> Routing:
        """Warms the requests' adapters. One adapter at one scale for all (or none): fused, as `generate`
        does, and an empty routing; several: base weights, and a routing for per-sample LoRA."""
        routing = Routing()
        wanted = {_choice_of(m.item.request) for m in members}
        if len(wanted) <= 1:
            adapter, scale = next(iter(wanted), (None, 1.0))
            try:
                subject = self._activate(adapter, scale)
            except BadInput as exc:
                for member in members:
                    member.error = exc
                return routing
            for member in members:
                member.subject = subject
            return routing
        self._fuser.unfuse()  # before the cache may evict, and so delete, the fused adapter
        warm: dict[Path, WarmAdapter | BadInput] = {}
        for path in {path for path, _ in wanted if path is not None}:
            try:
                warm[path] = self._adapters.get(path)
            except BadInput as exc:
                warm[path] = exc
        self._fuser.clear()
        for member in members:
            path, scale = _choice_of(member.item.request)
            adapter = warm.get(path) if path is not None else None
            if isinstance(adapter, BadInput):
                member.error = adapter
            elif adapter is not None:
                routing.assign(member, adapter, scale)
        return routing

    def _run_loop(
        self,
        members: list[Member],
        text_lora: PerSampleLoRA,
        unet_lora: PerSampleLoRA,
        width: int,
        height: int,
    ) -> None:
        """Denoises the live members' images together; each member ends with its images or its error."""
        live = [m for m in members if m.error is None]
        if not live:
            return
        request = live[0].item.request
        guided = request.guidance_scale > 1.0
        text_lora.route(Routing.text_rows(live))
        unet_lora.route(Routing.image_rows(live, guided))
        embeds = encode_prompts(
            self._pipe,
            [substitute(m.item.request.prompt, m.subject) for m in live],
            [substitute(m.item.request.negative_prompt or "", m.subject) for m in live],
            [m.item.request.num_images for m in live],
            guided,
            (height, width),
        )
        generators = [
            torch.Generator().manual_seed(m.item.request.seed + i)
            for m in live
            for i in range(m.item.request.num_images)
        ]
        for member in live:
            member.start()

        def on_step(done: int) -> None:
            for member in live:
                member.step(done)
            if all(m.error is not None for m in live):
                raise _AllStopped

        try:
            latents = denoise_embeds(
                self._pipe,
                embeds,
                generators=generators,
                steps=request.steps,
                guidance_scale=request.guidance_scale,
                width=width,
                height=height,
                on_step=on_step,
                scheduler=self._schedulers.get(request.scheduler),
            )
        except _AllStopped:
            return
        images = iter(decode(self._pipe, latents))
        for member in live:
            member.images = [next(images) for _ in range(member.item.request.num_images)]

    def _one_by_one(self, item: BatchItem) -> Outcome:
        try:
            return self.generate(item.request, progress=item.progress, cancel=item.cancel)
        except Exception as exc:  # the same isolation as inside a shared loop
            return exc

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
        width = request.width or self.base.width
        height = request.height or self.base.height
        problems = []
        if not 1 <= request.num_images <= MAX_IMAGES:
            problems.append(f"num_images must be 1..{MAX_IMAGES}, got {request.num_images}")
        if not 1 <= request.steps <= MAX_STEPS:
            problems.append(f"steps must be 1..{MAX_STEPS}, got {request.steps}")
        if request.scheduler is not None and request.scheduler not in SCHEDULERS:
            problems.append(f"scheduler must be one of {', '.join(SCHEDULERS)}, got {request.scheduler!r}")
        if request.guidance_scale is not None and request.guidance_scale < 0:
            problems.append(f"guidance_scale must be >= 0, got {request.guidance_scale}")
        for label, side in (("width", width), ("height", height)):
            if not 0 < side <= MAX_SIDE or side % self._size_multiple:
                problems.append(
                    f"{label} must be a multiple of {self._size_multiple} up to {MAX_SIDE}, got {side}"
                )
        if problems:
            raise BadInput("; ".join(problems))
        return width, height


def _choice_of(request: GenerateRequest) -> tuple[Path | None, float]:
    """The adapter and scale a request asks for; without an adapter the scale means nothing."""
    return (Path(request.adapter), request.adapter_scale) if request.adapter is not None else (None, 1.0)
