"""Use cases of cancelling: a job that has not ended ends now, with the reason "cancelled".

The row is the signal: a worker running the job watches it (imprint.worker.watch) and stops its
engine at the next step, whichever process or host it runs on. The caller owns the transaction.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from imprint.service import views
from imprint.service.domain import InferenceJob, TrainJob
from imprint.service.errors import InvalidParameter, JobAlreadyEnded
from imprint.service.inference import find_inference_row
from imprint.service.states import INFERENCE_TRANSITIONS, TRAIN_TRANSITIONS, Status, apply, is_terminal
from imprint.service.training import find_model_row, train_status
from imprint.store.rows import InferenceJobRow, TrainJobRow

CANCELLED = "cancelled"


def _end(row: TrainJobRow | InferenceJobRow, *, what: str, now: datetime) -> None:
    train = isinstance(row, TrainJobRow)
    to = Status.TRAINING_TERMINATED if train else Status.INFERRING_TERMINATED
    if is_terminal(row.status):
        if row.status == to and row.failure_reason == CANCELLED:
            return  # cancelled before: cancelling twice is harmless
        raise JobAlreadyEnded(what, row.status)
    apply(row, to, TRAIN_TRANSITIONS if train else INFERENCE_TRANSITIONS, reason=CANCELLED)
    row.updated_at = now


def cancel_model(session: Session, *, account_id: str, model_id: str, now: datetime) -> TrainJob:
    row = find_model_row(session, account_id=account_id, model_id=model_id, for_update=True)
    if row.origin == "v2":
        raise InvalidParameter("modelId", "names the internal model of a v2 inference job; cancel that job "
                                          "(cancelInferenceJob with its inferenceJobId)")
    _end(row, what=f"Model training job {model_id}", now=now)
    session.flush()
    return train_status(session, account_id=account_id, model_id=model_id)


def cancel_inference_job(session: Session, *, account_id: str, job_id: str, now: datetime) -> InferenceJob:
    row = find_inference_row(session, account_id=account_id, job_id=job_id, for_update=True)
    _end(row, what=f"Inference job {job_id}", now=now)
    model = session.get_one(TrainJobRow, row.train_job_id, with_for_update=True)
    if row.generation == "v2" and not is_terminal(model.status):
        # The v2 job's own model was training for it: nobody else will use it.
        _end(model, what=f"Model {model.model_id}", now=now)
    return views.inference_job(row)


def cancel_running_jobs(session: Session, *, model: TrainJobRow | None, jobs: list[InferenceJobRow],
                        now: datetime) -> None:
    """Before rows are deleted: whatever of them has not ended, so its worker stops at its next step."""
    for row in [*([model] if model is not None else []), *jobs]:
        if not is_terminal(row.status):
            _end(row, what=f"job {row.id}", now=now)
    session.flush()
