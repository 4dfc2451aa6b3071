"""Use cases of v1 model training: submit, read status, list. The caller owns the transaction."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from imprint.service import ids, views
from imprint.service.admission import admit
from imprint.service.domain import InferenceJob, TrainJob
from imprint.service.errors import ModelNotFound
from imprint.store.rows import InferenceJobRow, TrainJobRow


def submit_train_job(session: Session, *, account_id: str, user_id: str | None, name: str, object_type: str,
                     image_urls: list[str], train_steps: int, now: datetime,
                     account_limit: int | None = None, callback_url: str | None = None,
                     warnings: list[str] | None = None) -> TrainJob:
    """A job over the account's bound is recorded as TOO_MANY_INFERENCE_REQUESTS and never runs.
    `warnings` (imprint.service.warnings) are stored with the job."""
    status = admit(session, account_id=account_id, account_limit=account_limit)
    row = TrainJobRow(
        account_id=account_id, created_by=user_id, model_id=ids.model_id(object_type), origin="v1",
        name=name, object_type=object_type, image_urls=image_urls, train_steps=train_steps,
        seed=ids.random_seed(), status=status.value, progress=0.0, attempts=0,
        created_at=now, updated_at=now, callback_url=callback_url, warnings=list(warnings or []),
    )
    session.add(row)
    session.flush()
    return views.train_job(row)


def find_model_row(session: Session, *, account_id: str, model_id: str,
                   for_update: bool = False) -> TrainJobRow:
    # Another tenant's model is reported as missing: existence is not leaked across accounts.
    query = select(TrainJobRow).where(TrainJobRow.model_id == model_id, TrainJobRow.account_id == account_id)
    row = session.scalars(query.with_for_update() if for_update else query).first()
    if row is None:
        raise ModelNotFound(model_id)
    return row


def train_status(session: Session, *, account_id: str, model_id: str) -> TrainJob:
    return views.train_job(find_model_row(session, account_id=account_id, model_id=model_id))


def list_train_jobs(session: Session, *, account_id: str) -> list[TrainJob]:
    """Every v1 model of the account with its inference jobs: two statements, whatever the count."""
    rows = session.scalars(select(TrainJobRow).where(
        TrainJobRow.account_id == account_id, TrainJobRow.origin == "v1").order_by(TrainJobRow.id)).all()
    jobs: dict[int, list[InferenceJob]] = defaultdict(list)
    inference_rows = session.scalars(select(InferenceJobRow).where(
        InferenceJobRow.account_id == account_id, InferenceJobRow.generation == "v1")
        .order_by(InferenceJobRow.id)).all()
    for irow in inference_rows:
        jobs[irow.train_job_id].append(views.inference_job(irow))
    return [views.train_job(r, jobs.get(r.id, [])) for r in rows]
