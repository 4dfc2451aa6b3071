"""State changes a worker makes while running a job. Functions re-read rows and never commit."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from imprint.service import ids, warnings
from imprint.service.controls import Controls
from imprint.service.states import (
    ACTIVE,
    INFERENCE_TRANSITIONS,
    RUNNING,
    TRAIN_TRANSITIONS,
    Status,
    apply,
    is_terminal,
)
from imprint.store.blobs.base import BlobRef
from imprint.store.rows import ImageAssetRow, InferenceJobRow, TrainJobRow

TRAIN, INFER, PREMODEL = "train", "infer", "premodel"


@dataclass(frozen=True)
class TrainWork:
    job_id: int
    account_id: str
    model_id: str
    object_type: str
    image_urls: list[str]
    train_steps: int
    seed: int
    adapter_key: str | None


@dataclass(frozen=True)
class InferenceWork:
    job_id: int
    account_id: str
    model_id: str
    prompt_id: str
    prompt: str
    image_number: int
    seed: int
    strength: float | None
    generation: str
    model: TrainWork
    controls: Controls = Controls()


@dataclass(frozen=True)
class GeneratedImage:
    image_id: str
    blob: BlobRef
    width: int
    height: int


def _train_work(row: TrainJobRow) -> TrainWork:
    return TrainWork(row.id, row.account_id, row.model_id, row.object_type, list(row.image_urls),
                     row.train_steps, row.seed, row.adapter_key)


def begin_training(session: Session, *, job_id: int, now: datetime) -> TrainWork | None:
    row = session.get(TrainJobRow, job_id)
    if row is None or is_terminal(row.status):
        return None
    apply(row, Status.TRAINING, TRAIN_TRANSITIONS)
    row.attempts += 1
    row.updated_at = row.started_at = now
    return _train_work(row)


def _still_running(session: Session, table: type[TrainJobRow] | type[InferenceJobRow],
                   job_id: int) -> TrainJobRow | InferenceJobRow | None:
    """The row, locked, unless it ended meanwhile (cancelled) or is gone (deleted): then the worker's
    result is dropped rather than recorded."""
    row = session.get(table, job_id, with_for_update=True)
    return None if row is None or is_terminal(row.status) else row


def finish_training(session: Session, *, job_id: int, adapter: BlobRef, now: datetime) -> bool:
    """False when the job was cancelled or deleted while it trained: the adapter is not its to keep."""
    row = _still_running(session, TrainJobRow, job_id)
    if row is None:
        return False
    assert isinstance(row, TrainJobRow)
    apply(row, Status.FINISHED, TRAIN_TRANSITIONS)
    row.adapter_key, row.adapter_sha256 = adapter.key, adapter.sha256
    row.progress, row.updated_at = 1.0, now
    return True


def fail_training(session: Session, *, job_id: int, status: Status, reason: str, now: datetime) -> None:
    row = _still_running(session, TrainJobRow, job_id)
    if row is None:
        return
    apply(row, status, TRAIN_TRANSITIONS, reason=reason)
    row.updated_at = now


def record_progress(session: Session, *, kind: str, job_id: int, fraction: float, now: datetime) -> None:
    table = TrainJobRow if kind == TRAIN else InferenceJobRow
    value = round(fraction, 4)
    # Never backwards, across attempts too: a retry after a crash (attempts + 1) leaves the bar where
    # the earlier attempt had taken it until it gets further.
    session.execute(update(table).where(table.id == job_id, table.status.in_([s.value for s in RUNNING]),
                                        table.progress < value)
                    .values(progress=value, updated_at=now))


def add_warnings(session: Session, *, kind: str, job_id: int, texts: list[str]) -> None:
    """Warnings a running job found (a prompt cut at the token limit, pictures the model cannot draw)."""
    row = session.get(TrainJobRow if kind == TRAIN else InferenceJobRow, job_id)
    if row is not None:
        warnings.add(row, *texts)


def begin_inference(session: Session, *, job_id: int, now: datetime) -> InferenceWork | None:
    row = session.get(InferenceJobRow, job_id)
    if row is None or is_terminal(row.status):
        return None
    model = session.get_one(TrainJobRow, row.train_job_id)
    apply(row, Status.INFERRING, INFERENCE_TRANSITIONS)
    if row.generation == "v2" and not is_terminal(model.status):
        apply(model, Status.TRAINING, TRAIN_TRANSITIONS)
        model.started_at = now
    row.attempts += 1
    row.updated_at = row.started_at = now
    return InferenceWork(row.id, row.account_id, row.model_id, row.prompt_id, row.prompt, row.image_number,
                         row.seed, row.strength, row.generation, _train_work(model),
                         Controls.from_stored(row.controls))


def finish_premodel_training(session: Session, *, train_job_id: int, adapter: BlobRef, now: datetime) -> bool:
    """The adapter of a v2 job is kept even if generation later fails, so a retry skips training."""
    return finish_training(session, job_id=train_job_id, adapter=adapter, now=now)


def finish_inference(session: Session, *, job_id: int, images: list[GeneratedImage], now: datetime) -> bool:
    """False when the job was cancelled or deleted while it ran: its images are not recorded."""
    found = _still_running(session, InferenceJobRow, job_id)
    if found is None:
        return False
    assert isinstance(found, InferenceJobRow)
    row = found
    # A re-run after a crash regenerates the same ids; replacing the rows keeps this idempotent.
    session.execute(delete(ImageAssetRow).where(ImageAssetRow.inference_job_id == job_id))
    for image in images:
        session.add(ImageAssetRow(
            account_id=row.account_id, inference_job_id=row.id, model_id=row.model_id,
            prompt_id=row.prompt_id,
            image_id=image.image_id, blob_key=image.blob.key, sha256=image.blob.sha256, size=image.blob.size,
            width=image.width, height=image.height, created_at=now))
    apply(row, Status.FINISHED, INFERENCE_TRANSITIONS)
    row.result_image_ids = [i.image_id for i in images]
    row.progress, row.updated_at = 1.0, now
    return True


_MODEL_FAILURE = {Status.WRONG_IMAGE_URL: Status.WRONG_IMAGE_URL, Status.OOM: Status.OOM}


def fail_inference(session: Session, *, job_id: int, status: Status, reason: str, now: datetime) -> None:
    found = _still_running(session, InferenceJobRow, job_id)
    if found is None:
        return
    assert isinstance(found, InferenceJobRow)
    row = found
    apply(row, status, INFERENCE_TRANSITIONS, reason=reason)
    row.updated_at = now
    model = session.get_one(TrainJobRow, row.train_job_id)
    if row.generation == "v2" and not is_terminal(model.status):
        apply(model, _MODEL_FAILURE.get(status, Status.TRAINING_TERMINATED), TRAIN_TRANSITIONS, reason=reason)
        model.updated_at = now


def image_ids(work: InferenceWork) -> list[str]:
    if work.generation == "v1":
        return [ids.v1_image_id(i) for i in range(work.image_number)]
    # Unique across the service, and stable for a job so a re-run overwrites rather than duplicates.
    return [f"{work.prompt_id.replace('-', '')}{i:04d}.png" for i in range(work.image_number)]


def _unfinished(session: Session) -> Iterator[tuple[str, TrainJobRow | InferenceJobRow]]:
    """Every unfinished job in submission order, as the kind of message that runs it and its row."""
    active = [s.value for s in ACTIVE]
    query = select(TrainJobRow).where(TrainJobRow.status.in_(active), TrainJobRow.origin == "v1")
    for row in session.scalars(query.order_by(TrainJobRow.id)):
        yield TRAIN, row
    for irow in session.scalars(select(InferenceJobRow).where(InferenceJobRow.status.in_(active))
                                .order_by(InferenceJobRow.id)):
        yield (PREMODEL if irow.generation == "v2" else INFER), irow


def _back_to_waiting(row: TrainJobRow | InferenceJobRow, *, now: datetime) -> None:
    if Status(row.status) in RUNNING:
        apply(row, Status.WAIT_SCHEDULE,
              TRAIN_TRANSITIONS if isinstance(row, TrainJobRow) else INFERENCE_TRANSITIONS)
        row.updated_at = now


def requeue_interrupted(session: Session, *, now: datetime) -> list[tuple[str, int]]:
    """After a restart: running jobs go back to WAIT_SCHEDULE; every unfinished job is returned in order."""
    work: list[tuple[str, int]] = []
    for kind, row in _unfinished(session):
        _back_to_waiting(row, now=now)
        work.append((kind, row.id))
    return work


def unfinished_jobs(session: Session) -> list[tuple[str, int]]:
    """Every unfinished job in order, statuses untouched: where other workers may be running some of
    them (Celery), only the one that runs a job may say it stopped."""
    return [(kind, row.id) for kind, row in _unfinished(session)]


def release_interrupted(session: Session, *, kind: str, job_id: int, now: datetime) -> bool:
    """One job that shutdown stopped goes back to WAIT_SCHEDULE; False when it has ended meanwhile."""
    row = session.get(TrainJobRow if kind == TRAIN else InferenceJobRow, job_id)
    if row is None or is_terminal(row.status):
        return False
    _back_to_waiting(row, now=now)
    return True


def withdraw_unqueued(session: Session, *, kind: str, job_id: int) -> None:
    """Removes a job that was committed but could not be handed to the queue, so that the caller, who
    is told to retry, finds no job that will never run (a v2 job takes its internal model along)."""
    if kind == TRAIN:
        session.execute(delete(TrainJobRow).where(TrainJobRow.id == job_id))
        return
    row = session.get(InferenceJobRow, job_id)
    if row is None:
        return
    internal = row.train_job_id if row.generation == "v2" else None
    session.delete(row)
    session.flush()
    if internal is not None:
        session.execute(delete(TrainJobRow).where(TrainJobRow.id == internal))
