"""What a worker needs, passed explicitly: sessions, blobs, the engine, fetch policy, clock."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from PIL import Image
from sqlalchemy.orm import Session, sessionmaker

from imprint.ingest import FetchPolicy
from imprint.service.controls import Controls
from imprint.store.blobs.base import BlobStore
from imprint.worker.engine_runtime import Fraction, Warn


class JobEngine(Protocol):
    """What the workers call: the real EngineRuntime, or mock mode's placeholder engine."""

    def train(self, images: list[Image.Image], *, object_type: str, out_path: Path, steps: int, seed: int,
              progress: Fraction, cancel: threading.Event, warn: Warn | None = None,
              label: str = "") -> None: ...

    def dropped_prompt_text(self, prompt: str, adapter: Path | None) -> tuple[int, str] | None: ...

    def generate(self, *, prompt: str, adapter: Path | None, num_images: int, seed: int, default_steps: int,
                 strength: float | None, progress: Fraction, cancel: threading.Event,
                 controls: Controls | None = None) -> list[Image.Image]: ...


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass
class WorkerContext:
    sessions: sessionmaker[Session]
    blobs: BlobStore
    engine: JobEngine
    fetch_policy: FetchPolicy
    work_dir: Path
    default_inference_steps: int
    keep_training_photos: bool = False
    # Set on shutdown: running engine work stops at the next step and the job stays resumable.
    stopping: threading.Event = field(default_factory=threading.Event)
    clock: Callable[[], datetime] = utcnow
