"""Use cases of inference: on a trained model (v1) or on reference images in one job (v2)."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from imprint.service import ids, views
from imprint.service.domain import InferenceJob
from imprint.service.errors import InferenceJobNotFound, ModelNotReady
from imprint.service.states import ACTIVE, Status
from imprint.service.training import find_model_row
from imprint.store.rows import InferenceJobRow, TrainJobRow


def _admitted(session: Session, queue_limit: int) -> bool:
    # The bound is counted in the database, so it survives restarts and holds across processes.
    active = session.scalar(select(func.count()).select_from(InferenceJobRow)
                            .where(InferenceJobRow.status.in_([s.value for s in ACTIVE])))
    return (active or 0) < queue_limit


def submit_inference_job(session: Session, *, account_id: str, user_id: str | None, model_id: str,
                         prompt: str, image_number: int, seed: int | None, queue_limit: int,
                         now: datetime) -> InferenceJob:
    model = find_model_row(session, account_id=account_id, model_id=model_id)
    if model.status != Status.FINISHED:
        raise ModelNotReady(model_id, model.status)
    status = Status.SUBMITTED if _admitted(session, queue_limit) else Status.TOO_MANY_INFERENCE_REQUESTS
    row = InferenceJobRow(
        account_id=account_id, created_by=user_id, train_job_id=model.id, model_id=model.model_id,
        prompt_id=ids.time_uuid(), generation="v1", prompt=prompt, image_number=image_number,
        seed=ids.random_seed() if seed is None or seed < 0 else seed, strength=None, status=status.value,
        progress=0.0, attempts=0, created_at=now, updated_at=now,
    )
    session.add(row)
    session.flush()
    return views.inference_job(row)


def submit_premodel_job(session: Session, *, account_id: str, user_id: str | None, image_urls: list[str],
                        prompt: str, object_type: str, train_steps: int, image_number: int, seed: int | None,
                        strength: float, queue_limit: int, now: datetime) -> InferenceJob:
    """One job that trains an internal model on the reference images, then generates with it."""
    status = Status.SUBMITTED if _admitted(session, queue_limit) else Status.TOO_MANY_INFERENCE_REQUESTS
    chosen_seed = ids.random_seed() if seed is None or seed < 0 else seed
    model = TrainJobRow(
        account_id=account_id, created_by=user_id, model_id=ids.model_id(object_type), origin="v2",
        name=f"pre-model job: {prompt[:100]}", object_type=object_type, image_urls=image_urls,
        train_steps=train_steps, seed=chosen_seed, status=status.value, progress=0.0, attempts=0,
        created_at=now, updated_at=now,
    )
    session.add(model)
    session.flush()
    row = InferenceJobRow(
        account_id=account_id, created_by=user_id, train_job_id=model.id, model_id=model.model_id,
        prompt_id=ids.time_uuid(), generation="v2", prompt=prompt, image_number=image_number,
        seed=chosen_seed, strength=strength, status=status.value, progress=0.0, attempts=0,
        created_at=now, updated_at=now,
    )
    session.add(row)
    session.flush()
    return views.inference_job(row)


def get_inference_job(session: Session, *, account_id: str, job_id: str) -> InferenceJob:
    if not job_id.isdigit() or len(job_id) > 18:
        raise InferenceJobNotFound(job_id)
    row = session.get(InferenceJobRow, int(job_id))
    if row is None or row.account_id != account_id:
        raise InferenceJobNotFound(job_id)
    return views.inference_job(row)


_WORD = re.compile(r"[a-z]+")


def object_type_from_prompt(prompt: str, known: tuple[str, ...], fallback: str) -> str:
    """The v2 request names no subject, so the first known class word in the prompt stands for it."""
    for word in _WORD.findall(prompt.lower()):
        if word in known:
            return word
    return fallback
