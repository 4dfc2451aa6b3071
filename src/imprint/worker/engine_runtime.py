"""The engine as the workers see it: one lazily loaded base model and generator, shared by all jobs.

Inference goes through a RequestCombiner: jobs that several inference threads (`inference_workers`
> 1) run at the same time share denoising loops when compatible, each job with its own adapter,
progress and cancel; with one thread every job is a batch of one, served as `Generator.generate` would.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PIL import Image

from imprint.metrics import AdapterCacheCounts
from imprint.service.controls import Controls

log = logging.getLogger(__name__)

Fraction = Callable[[float], None]
Warn = Callable[[str], None]
# Training logs a line at most this often (and at its last step).
STEP_LOG_INTERVAL_S = 10.0
# More than this share of the training pictures unreadable to the bundled judge: not its world.
UNFAMILIAR_SHARE = 0.5

# The engine reports each stage from 0 to 1; a job's progress is one bar across the stages.
TRAIN_STAGES: dict[str, tuple[float, float]] = {
    "preparing": (0.0, 0.05),
    "class images": (0.05, 0.25),
    "training": (0.05, 1.0),
}


def _staged(progress: Fraction, stages: dict[str, tuple[float, float]],
            label: str = "") -> Callable[[Any], None]:
    last_log = [0.0]

    def report(p: Any) -> None:
        start, end = stages.get(p.stage, (0.0, 1.0))
        progress(start + (end - start) * p.fraction)
        now = time.monotonic()
        # Stages of one step (preparing) say nothing a rate would add.
        if p.steps_per_second is None or p.total <= 1:
            return
        if p.done >= p.total or now - last_log[0] >= STEP_LOG_INTERVAL_S:
            last_log[0] = now
            log.info("%s%s: step %d/%d, %.2f steps/s, about %.0f s left", label, p.stage, p.done, p.total,
                     p.steps_per_second, p.eta_seconds or 0.0)

    return report


def captioner_folder(source: str, captioner: str) -> Path | None:
    """The judge folder whose scene head captions training pictures, or None for uncaptioned training.

    "auto" captions only for the bundled imprint-tiny, the one base model whose world the bundled
    judge knows; "none" never; anything else is a judge folder to use.
    """
    from imprint.models import bundled_judge, bundled_model

    if captioner == "none":
        return None
    if captioner == "auto":
        same = Path(source).resolve() == bundled_model().resolve()
        return bundled_judge() if same else None
    return Path(captioner)


class EngineRuntime:
    def __init__(self, source: str, *, device: str = "cpu", captioner: str = "auto", width: int | None = None,
                 height: int | None = None) -> None:
        self.source, self.device = source, device
        self.width, self.height = width, height
        self._captioner_folder = captioner_folder(source, captioner)
        from imprint.models import bundled_model

        self._bundled = Path(source).resolve() == bundled_model().resolve()
        self._lock = threading.Lock()
        self._base: Any = None
        self._captioner: Any = None
        self._generator: Any = None
        self._combiner: Any = None
        self._cache_counts = AdapterCacheCounts()

    def base(self) -> Any:
        from imprint.engine import BaseModel
        from imprint.logs import quiet_loaded_libraries

        with self._lock:
            if self._base is None:
                quiet_loaded_libraries()
                self._base = BaseModel.load(self.source, device=self.device, width=self.width,
                                            height=self.height)
            return self._base

    def generator(self) -> Any:
        from imprint.engine import Generator

        base = self.base()
        with self._lock:
            if self._generator is None:
                self._generator = Generator(base)
            return self._generator

    def combiner(self) -> Any:
        from imprint.engine.request_combiner import RequestCombiner

        generator = self.generator()
        with self._lock:
            if self._combiner is None:
                self._combiner = RequestCombiner(generator)
            return self._combiner

    def captioner(self) -> Any:
        if self._captioner_folder is None:
            return None
        from imprint.evaluation.captioner import SceneCaptioner

        with self._lock:
            if self._captioner is None:
                self._captioner = SceneCaptioner.load(self._captioner_folder)
            return self._captioner

    @property
    def image_size(self) -> int:
        return int(self.base().image_size)

    def train(self, images: list[Image.Image], *, object_type: str, out_path: Path, steps: int, seed: int,
              progress: Fraction, cancel: threading.Event, warn: Warn | None = None, label: str = "") -> None:
        """`warn` receives sentences for the job's warnings; `label` prefixes the step log lines."""
        from imprint.engine import train_adapter
        from imprint.engine.train_config import recipe_for
        from imprint.service.warnings import CARTOON_WORLD

        captioner = self.captioner()
        captions = captioner.caption(images, object_type) if captioner is not None else None
        if (captions is not None and self._bundled and warn is not None
                and captions.unfamiliar > UNFAMILIAR_SHARE * len(images)):
            warn(CARTOON_WORLD)
        contexts = captions.contexts if captions is not None else None
        description = captions.description if captions is not None else None
        base = self.base()
        config = recipe_for(base, contexts)
        config.steps, config.seed = steps, seed
        train_adapter(base, images, object_type, out_path, config, contexts=contexts, description=description,
                      progress=_staged(progress, TRAIN_STAGES, f"{label} " if label else ""), cancel=cancel)

    def dropped_prompt_text(self, prompt: str, adapter: Path | None) -> tuple[int, str] | None:
        """The base model's token limit and what of the prompt falls past it once `<special-token>` is
        replaced by the adapter's subject (slot token and description), or None when it all fits."""
        from imprint.engine import SPECIAL_TOKEN, read_adapter_info
        from imprint.engine.identifier import substitute
        from imprint.tokens import Vocabulary

        subject = read_adapter_info(adapter).subject if adapter is not None else None
        vocabulary = Vocabulary(self.base().pipeline.tokenizer)
        # Each marker also becomes the adapter's one slot token, which the base vocabulary lacks.
        slots = prompt.count(SPECIAL_TOKEN) if subject else 0
        dropped = vocabulary.dropped_text(substitute(prompt, subject), reserved=slots)
        return None if dropped is None else (vocabulary.max_tokens, dropped)

    def generate(self, *, prompt: str, adapter: Path | None, num_images: int, seed: int, default_steps: int,
                 strength: float | None, progress: Fraction, cancel: threading.Event,
                 controls: Controls | None = None) -> list[Image.Image]:
        from imprint.engine import GenerateRequest

        c = controls or Controls()
        # v2 strength (0.3-0.8, default 0.5) scales the adapter around the engine's neutral 1.0; an
        # adapterScale asked for says the same more directly and wins.
        scale = 1.0 if strength is None else 2.0 * strength
        if c.adapter_scale is not None:
            scale = c.adapter_scale
        request = GenerateRequest(prompt=prompt, adapter=adapter, num_images=num_images, seed=seed,
                                  steps=c.steps or default_steps, adapter_scale=scale,
                                  negative_prompt=c.negative_prompt, guidance_scale=c.guidance_scale,
                                  width=c.width, height=c.height, scheduler=c.scheduler)
        images = self.combiner().generate(request, progress=lambda p: progress(p.fraction), cancel=cancel)
        stats = self.generator().stats()
        self._cache_counts.update(stats.hits, stats.loads, stats.evictions)
        return list(images)
