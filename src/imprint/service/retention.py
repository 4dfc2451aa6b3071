"""Retention: models and inference jobs older than the configured age are deleted with everything
made from them, as `deleteModel` and `deleteInferenceJob` delete them (a running one is cancelled
first). `sweep` leaves the transaction to its caller; `Sweeper` runs sweeps in the background."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from imprint.service.deletion import Removal, remove_blobs, remove_job, remove_model
from imprint.service.uploads import forget_expired_uploads
from imprint.store.blobs.base import BlobStore
from imprint.store.rows import InferenceJobRow, TrainJobRow

log = logging.getLogger(__name__)


def sweep(session: Session, *, blobs: BlobStore, now: datetime, max_age: timedelta) -> Removal:
    """Deletes every model (with its jobs) and every inference job created before ``now - max_age``."""
    cutoff = now - max_age
    removal = Removal()
    for model in session.scalars(select(TrainJobRow).where(TrainJobRow.created_at < cutoff)
                                 .order_by(TrainJobRow.id).with_for_update()).all():
        remove_model(session, model, removal, now=now)
    for job in session.scalars(select(InferenceJobRow).where(InferenceJobRow.created_at < cutoff)
                               .order_by(InferenceJobRow.id).with_for_update()).all():
        if job.generation == "v2":  # its internal model goes with it, as deleteInferenceJob does
            remove_model(session, session.get_one(TrainJobRow, job.train_job_id), removal, now=now)
        else:
            remove_job(session, job, removal, now=now)
    # Uploads never trained on (those a training used are gone already).
    removal.blob_keys += forget_expired_uploads(session, cutoff=cutoff)
    session.flush()
    remove_blobs(blobs, removal)
    return removal


class Sweeper:
    """One thread sweeping every ``interval_s``; ``clock`` is read at each sweep (tests move it)."""

    def __init__(self, sessions: sessionmaker[Session], blobs: BlobStore, *, max_age: timedelta,
                 interval_s: float, clock: Callable[[], datetime],
                 on_removed: Callable[[Removal], None] | None = None) -> None:
        self._sessions, self._blobs, self._max_age = sessions, blobs, max_age
        self._interval, self.clock, self._on_removed = interval_s, clock, on_removed
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="imprint-retention", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def run_once(self) -> Removal:
        with self._sessions.begin() as session:
            removal = sweep(session, blobs=self._blobs, now=self.clock(), max_age=self._max_age)
        if self._on_removed is not None:
            self._on_removed(removal)
        if removal.model_ids or removal.inference_job_ids:
            log.info("retention removed %d model(s) and %d inference job(s) (%d images)",
                     len(removal.model_ids), len(removal.inference_job_ids), removal.image_count)
        return removal

    def _loop(self) -> None:
        while True:
            try:
                self.run_once()
            except Exception:  # the rows roll back and the next sweep repeats it (blob removal is idempotent)
                log.exception("retention sweep failed")
            if self._stop.wait(self._interval):
                return
