"""Use cases of inference: on a trained model (v1) or on reference images in one job (v2)."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from imprint.service import ids, views
from imprint.service.admission import admit
from imprint.service.controls import Controls
from imprint.service.domain import InferenceJob
from imprint.service.errors import InferenceJobNotFound, ModelNotReady
from imprint.service.states import Status
from imprint.service.training import find_model_row
from imprint.store.rows import InferenceJobRow, TrainJobRow

MAX_ROW_ID = 2**31 - 1


def submit_inference_job(session: Session, *, account_id: str, user_id: str | None, model_id: str,
                         prompt: str, image_number: int, seed: int | None, queue_limit: int,
                         now: datetime, account_limit: int | None = None,
                         controls: Controls | None = None, callback_url: str | None = None,
                         warnings: list[str] | None = None) -> InferenceJob:
    model = find_model_row(session, account_id=account_id, model_id=model_id)
    if model.status != Status.FINISHED:
        raise ModelNotReady(model_id, model.status)
    status = admit(session, account_id=account_id, account_limit=account_limit, queue_limit=queue_limit)
    row = InferenceJobRow(
        account_id=account_id, created_by=user_id, train_job_id=model.id, model_id=model.model_id,
        prompt_id=ids.time_uuid(), generation="v1", prompt=prompt, image_number=image_number,
        seed=ids.random_seed() if seed is None or seed < 0 else seed, strength=None,
        controls=(controls or Controls()).stored(), status=status.value,
        progress=0.0, attempts=0, created_at=now, updated_at=now, callback_url=callback_url,
        warnings=list(warnings or []),
    )
    session.add(row)
    session.flush()
    return views.inference_job(row)


def submit_premodel_job(session: Session, *, account_id: str, user_id: str | None, image_urls: list[str],
                        prompt: str, object_type: str, train_steps: int, image_number: int, seed: int | None,
                        strength: float, queue_limit: int, now: datetime,
                        account_limit: int | None = None, controls: Controls | None = None,
                        callback_url: str | None = None, warnings: list[str] | None = None) -> InferenceJob:
    """One job that trains an internal model on the reference images, then generates with it."""
    status = admit(session, account_id=account_id, account_limit=account_limit, queue_limit=queue_limit)
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
        seed=chosen_seed, strength=strength, controls=(controls or Controls()).stored(), status=status.value,
        progress=0.0, attempts=0,
        created_at=now, updated_at=now, callback_url=callback_url, warnings=list(warnings or []),
    )
    session.add(row)
    session.flush()
    return views.inference_job(row)


def get_inference_job(session: Session, *, account_id: str, job_id: str) -> InferenceJob:
    return views.inference_job(find_inference_row(session, account_id=account_id, job_id=job_id))


def find_inference_row(session: Session, *, account_id: str, job_id: str,
                       for_update: bool = False) -> InferenceJobRow:
    # isascii: str.isdigit also accepts other scripts' digits, which int() would then read. Row ids are
    # 32-bit, and PostgreSQL refuses a larger number outright rather than finding no row.
    if not (job_id.isascii() and job_id.isdigit()) or len(job_id) > 10 or int(job_id) > MAX_ROW_ID:
        raise InferenceJobNotFound(job_id)
    # The tenant is part of the query: another account's job and a missing one take the same path.
    query = select(InferenceJobRow).where(InferenceJobRow.id == int(job_id),
                                          InferenceJobRow.account_id == account_id)
    row = session.scalars(query.with_for_update() if for_update else query).first()
    if row is None:
        raise InferenceJobNotFound(job_id)
    return row


_WORD = re.compile(r"[a-z]+")


def object_type_from_prompt(prompt: str, known: tuple[str, ...], fallback: str) -> str:
    """The v2 request names no subject, so the first known class word in the prompt stands for it."""
    for word in _WORD.findall(prompt.lower()):
        if word in known:
            return word
    return fallback
