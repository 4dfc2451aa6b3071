"""Runs one v1 training job. Safe to run twice: a finished or failed job is left alone."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from imprint import metrics
from imprint.ingest import ImageFetchError
from imprint.service import runs
from imprint.service.runs import TrainWork
from imprint.service.states import Status
from imprint.store.blobs.base import BlobRef
from imprint.worker.context import WorkerContext
from imprint.worker.failures import Failure, classify, record_failure
from imprint.worker.photos import after_training, training_photos
from imprint.worker.progress import ProgressWriter
from imprint.worker.scratch import job_folder
from imprint.worker.watch import JobWatch

log = logging.getLogger(__name__)


def adapter_key(work: TrainWork) -> str:
    return f"adapters/{work.account_id}/{work.model_id}.safetensors"


def warner(ctx: WorkerContext, *, kind: str, job_id: int) -> Callable[[str], None]:
    """Stores a warning with the job at once, so a caller polling reads it while the job runs."""
    def warn(text: str) -> None:
        log.warning("%s job %s: %s", kind, job_id, text)
        with ctx.sessions.begin() as session:
            runs.add_warnings(session, kind=kind, job_id=job_id, texts=[text])

    return warn


def train_model(ctx: WorkerContext, work: TrainWork, progress: ProgressWriter, cancel: threading.Event,
                warn: Callable[[str], None] | None = None) -> BlobRef:
    """Fetches the images (or reads the stored ones) and trains the adapter; raises Failure with the
    status to record. ``cancel``: the job's JobWatch event."""
    try:
        images = training_photos(ctx, work)
    except ImageFetchError as exc:
        raise Failure(Status.WRONG_IMAGE_URL, f"training images could not be used: {exc}") from exc
    with job_folder(ctx.work_dir) as tmp:
        out = tmp / "adapter.safetensors"
        started = time.perf_counter()
        try:
            ctx.engine.train(images, object_type=work.object_type, out_path=out, steps=work.train_steps,
                             seed=work.seed, progress=progress, cancel=cancel, warn=warn,
                             label=f"model {work.model_id}")
        except Exception as exc:
            raise classify(exc, stage="training") from exc
        metrics.observe_engine("training", seconds=time.perf_counter() - started, steps=work.train_steps)
        return ctx.blobs.put_file(adapter_key(work), out)


def run_train_job(ctx: WorkerContext, job_id: int) -> None:
    with ctx.sessions.begin() as session:
        work = runs.begin_training(session, job_id=job_id, now=ctx.clock())
    if work is None:
        return
    watch = JobWatch(ctx, kind=runs.TRAIN, job_id=job_id)
    try:
        with watch:
            blob = train_model(ctx, work, ProgressWriter(ctx, kind=runs.TRAIN, job_id=job_id), watch.event,
                               warner(ctx, kind=runs.TRAIN, job_id=job_id))
    except Exception as exc:  # whatever went wrong, the job must end in a final status
        failure = exc if isinstance(exc, Failure) else classify(exc, stage="training")
        # None: stopped by shutdown (the job stays TRAINING and is re-run on start, from its stored
        # photos) or cancelled/deleted (the row already says so).
        if failure.status is None:
            if watch.ended_elsewhere:
                after_training(ctx, work, model_kept=False)
            return
        log.info("training job %s failed: %s %s", job_id, failure.status, failure.reason)
        status = failure.status

        def record(reason: str) -> None:
            with ctx.sessions.begin() as session:
                runs.fail_training(session, job_id=job_id, status=status, reason=reason, now=ctx.clock())

        record_failure(record, job_id=job_id, reason=failure.reason)
        after_training(ctx, work, model_kept=False)
        return
    with ctx.sessions.begin() as session:
        kept = runs.finish_training(session, job_id=job_id, adapter=blob, now=ctx.clock())
    if not kept:  # cancelled or deleted in the last step: the adapter belongs to nobody
        ctx.blobs.delete(blob.key)
    after_training(ctx, work, model_kept=kept)
