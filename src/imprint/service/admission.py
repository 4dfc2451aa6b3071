"""Whether a new job may run: the shared inference queue bound and the per-account bound.

Both are counted in the database, so they survive restarts and hold across API processes. A job
refused here is still created, with the terminal status TOO_MANY_INFERENCE_REQUESTS, because the
contract lists that as a job status that clients poll for, not as an error.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from imprint.service.states import ACTIVE, Status
from imprint.store.db import serialize
from imprint.store.rows import InferenceJobRow, TrainJobRow

_ACTIVE = [s.value for s in ACTIVE]


def _queue_has_room(session: Session, queue_limit: int) -> bool:
    active = session.scalar(select(func.count()).select_from(InferenceJobRow)
                            .where(InferenceJobRow.status.in_(_ACTIVE)))
    return (active or 0) < queue_limit


def _account_has_room(session: Session, account_id: str, account_limit: int) -> bool:
    # v2 jobs own an internal training row too; only their inference row counts, so origin v1 here.
    trainings = session.scalar(select(func.count()).select_from(TrainJobRow).where(
        TrainJobRow.account_id == account_id, TrainJobRow.origin == "v1", TrainJobRow.status.in_(_ACTIVE)))
    inferences = session.scalar(select(func.count()).select_from(InferenceJobRow).where(
        InferenceJobRow.account_id == account_id, InferenceJobRow.status.in_(_ACTIVE)))
    return (trainings or 0) + (inferences or 0) < account_limit


def admit(session: Session, *, account_id: str, account_limit: int | None,
          queue_limit: int | None = None) -> Status:
    """SUBMITTED when both bounds leave room (None: that bound is not applied)."""
    # Two API processes counting at once would both see room for the last job; the locks last until the
    # caller commits the job it adds. Always the queue before the account, so no two calls deadlock.
    serialize(session, *(["inference-queue"] if queue_limit is not None else []),
              *([f"account:{account_id}"] if account_limit is not None else []))
    if queue_limit is not None and not _queue_has_room(session, queue_limit):
        return Status.TOO_MANY_INFERENCE_REQUESTS
    if account_limit is not None and not _account_has_room(session, account_id, account_limit):
        return Status.TOO_MANY_INFERENCE_REQUESTS
    return Status.SUBMITTED
