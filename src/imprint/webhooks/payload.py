"""A webhook's `data`: the job object exactly as the query operations return it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from imprint.api import wire
from imprint.service import views
from imprint.store.rows import InferenceJobRow, TrainJobRow


def job_object(session: Session, row: TrainJobRow | InferenceJobRow) -> dict[str, Any]:
    if isinstance(row, InferenceJobRow):
        return wire.inference_job(views.inference_job(row))
    jobs = session.scalars(select(InferenceJobRow).where(InferenceJobRow.train_job_id == row.id)
                           .order_by(InferenceJobRow.id))
    return wire.train_job(views.train_job(row, [views.inference_job(j) for j in jobs]))
