"""What a worker needs, passed explicitly: sessions, blobs, the engine, fetch policy, clock."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from imprint.ingest import FetchPolicy
from imprint.store.blobs.base import BlobStore
from imprint.worker.engine_runtime import EngineRuntime


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass
class WorkerContext:
    sessions: sessionmaker[Session]
    blobs: BlobStore
    engine: EngineRuntime
    fetch_policy: FetchPolicy
    work_dir: Path
    default_inference_steps: int
    keep_training_photos: bool = False
    # Set on shutdown: running engine work stops at the next step and the job stays resumable.
    stopping: threading.Event = field(default_factory=threading.Event)
    clock: Callable[[], datetime] = utcnow
