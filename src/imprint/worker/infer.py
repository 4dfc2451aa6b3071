"""Runs one inference job: v1 on a trained model, v2 training its internal model first."""

from __future__ import annotations

import io
import logging
import threading
import time

from imprint import metrics
from imprint.service import runs
from imprint.service.runs import GeneratedImage, InferenceWork
from imprint.service.states import Status
from imprint.service.warnings import prompt_cut
from imprint.worker.context import WorkerContext
from imprint.worker.failures import Failure, classify, record_failure
from imprint.worker.photos import after_training
from imprint.worker.progress import ProgressWriter
from imprint.worker.train import train_model, warner
from imprint.worker.watch import JobWatch

log = logging.getLogger(__name__)

# Share of a v2 job's progress bar given to training its internal model.
PREMODEL_TRAIN_SHARE = 0.8


def _ensure_adapter(ctx: WorkerContext, work: InferenceWork, cancel: threading.Event) -> str:
    model = work.model
    if model.adapter_key and ctx.blobs.exists(model.adapter_key):
        return model.adapter_key
    if work.generation == "v1":
        raise Failure(Status.INFERRING_TERMINATED, f"the adapter of model {model.model_id} is missing")
    progress = ProgressWriter(ctx, kind=runs.INFER, job_id=work.job_id, span=PREMODEL_TRAIN_SHARE)
    try:
        blob = train_model(ctx, model, progress, cancel, warner(ctx, kind=runs.INFER, job_id=work.job_id))
    except Failure as failure:
        if failure.status is not None or not ctx.stopping.is_set():  # failed, cancelled or deleted
            after_training(ctx, model, model_kept=False)
        raise
    with ctx.sessions.begin() as session:
        kept = runs.finish_premodel_training(session, train_job_id=model.job_id, adapter=blob,
                                             now=ctx.clock())
    after_training(ctx, model, model_kept=kept)
    if not kept:  # the job was cancelled or deleted as training ended
        ctx.blobs.delete(blob.key)
        raise Failure(None, "cancelled")
    return blob.key


def _generate(ctx: WorkerContext, work: InferenceWork, adapter_key: str,
              cancel: threading.Event) -> list[GeneratedImage]:
    start = PREMODEL_TRAIN_SHARE if work.generation == "v2" else 0.0
    progress = ProgressWriter(ctx, kind=runs.INFER, job_id=work.job_id, start=start, span=1.0 - start)
    adapter = ctx.blobs.local_path(adapter_key)
    try:
        cut = ctx.engine.dropped_prompt_text(work.prompt, adapter)
    except Exception as exc:
        raise classify(exc, stage="inference") from exc
    if cut is not None:
        warner(ctx, kind=runs.INFER, job_id=work.job_id)(prompt_cut(*cut))
    started = time.perf_counter()
    try:
        images = ctx.engine.generate(
            prompt=work.prompt, adapter=adapter, num_images=work.image_number,
            seed=work.seed, default_steps=ctx.default_inference_steps, strength=work.strength,
            controls=work.controls, progress=progress, cancel=cancel)
    except Exception as exc:
        raise classify(exc, stage="inference") from exc
    metrics.observe_engine("generation", seconds=time.perf_counter() - started,
                           steps=work.controls.steps or ctx.default_inference_steps)
    out: list[GeneratedImage] = []
    for image_id, image in zip(runs.image_ids(work), images, strict=True):
        buf = io.BytesIO()
        image.save(buf, format="PNG")
        blob = ctx.blobs.put_bytes(f"images/{work.account_id}/{work.prompt_id}/{image_id}", buf.getvalue())
        out.append(GeneratedImage(image_id, blob, image.width, image.height))
    return out


def run_inference_job(ctx: WorkerContext, job_id: int) -> None:
    with ctx.sessions.begin() as session:
        work = runs.begin_inference(session, job_id=job_id, now=ctx.clock())
    if work is None:
        return
    try:
        with JobWatch(ctx, kind=runs.INFER, job_id=job_id) as watch:
            images = _generate(ctx, work, _ensure_adapter(ctx, work, watch.event), watch.event)
    except Exception as exc:  # whatever went wrong, the job must end in a final status
        failure = exc if isinstance(exc, Failure) else classify(exc, stage="inference")
        if failure.status is None:
            return
        log.info("inference job %s failed: %s %s", job_id, failure.status, failure.reason)
        status = failure.status

        def record(reason: str) -> None:
            with ctx.sessions.begin() as session:
                runs.fail_inference(session, job_id=job_id, status=status, reason=reason, now=ctx.clock())

        record_failure(record, job_id=job_id, reason=failure.reason)
        return
    with ctx.sessions.begin() as session:
        kept = runs.finish_inference(session, job_id=job_id, images=images, now=ctx.clock())
    if not kept:  # cancelled or deleted while the last images were written
        for image in images:
            ctx.blobs.delete(image.blob.key)
