"""Use cases of deleting: a model with everything made from it, or one inference job.

Rows go first, in the caller's transaction; the blobs are removed before it commits, so a failure
of the blob store rolls the rows back and the same call can simply be repeated (removing a blob
twice is harmless). A job still running is cancelled first: its worker notices the row ended or
gone, stops, and drops whatever it was about to record (imprint.service.runs).
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from imprint.service.blob_names import images_prefix, training_photos_prefix
from imprint.service.cancel import cancel_running_jobs
from imprint.service.inference import find_inference_row
from imprint.service.training import find_model_row
from imprint.service.uploads import forget_uploads
from imprint.store.blobs.base import BlobStore
from imprint.store.rows import ImageAssetRow, InferenceJobRow, TrainJobRow


@dataclass
class Removal:
    model_ids: list[str] = field(default_factory=list)
    inference_job_ids: list[int] = field(default_factory=list)
    image_count: int = 0
    blob_keys: list[str] = field(default_factory=list)
    blob_prefixes: list[str] = field(default_factory=list)
    # What the in-memory image cache (imprint.service.assets.AssetCache) may hold for them.
    asset_keys: list[Hashable] = field(default_factory=list)


def delete_model(session: Session, *, account_id: str, model_id: str, blobs: BlobStore,
                 now: datetime) -> Removal:
    model = find_model_row(session, account_id=account_id, model_id=model_id, for_update=True)
    removal = Removal()
    remove_model(session, model, removal, now=now)
    remove_blobs(blobs, removal)
    return removal


def delete_inference_job(session: Session, *, account_id: str, job_id: str, blobs: BlobStore,
                         now: datetime) -> Removal:
    """A v2 job takes its internal model (adapter, photos) with it: nothing else uses that model."""
    job = find_inference_row(session, account_id=account_id, job_id=job_id, for_update=True)
    removal = Removal()
    model = session.get_one(TrainJobRow, job.train_job_id, with_for_update=True)
    if job.generation == "v2":
        remove_model(session, model, removal, now=now)
    else:
        remove_job(session, job, removal, now=now)
    remove_blobs(blobs, removal)
    return removal


def remove_job(session: Session, job: InferenceJobRow, removal: Removal, *, now: datetime) -> None:
    """One v1 job's rows and the names of its blobs; cancelled first if it has not ended."""
    cancel_running_jobs(session, model=None, jobs=[job], now=now)
    _remove_job(session, job, removal)


def remove_model(session: Session, model: TrainJobRow, removal: Removal, *, now: datetime) -> None:
    """The model's rows and the names of its blobs (into ``removal``); running jobs cancelled first."""
    jobs = list(session.scalars(select(InferenceJobRow).where(InferenceJobRow.train_job_id == model.id)
                                .with_for_update()))
    cancel_running_jobs(session, model=model, jobs=jobs, now=now)
    for job in jobs:
        _remove_job(session, job, removal)
    if model.adapter_key:
        removal.blob_keys.append(model.adapter_key)
    removal.blob_prefixes.append(training_photos_prefix(model.account_id, model.model_id))
    # Uploads it names that its training has not used up yet (it removes them when it ends).
    removal.blob_keys += forget_uploads(session, account_id=model.account_id, urls=model.image_urls)
    removal.model_ids.append(model.model_id)
    session.flush()
    session.delete(model)
    session.flush()


def _remove_job(session: Session, job: InferenceJobRow, removal: Removal) -> None:
    images = list(session.scalars(select(ImageAssetRow).where(ImageAssetRow.inference_job_id == job.id)))
    for image in images:
        removal.blob_keys.append(image.blob_key)
        removal.asset_keys += [("v1", image.account_id, image.model_id, image.prompt_id, image.image_id),
                               ("v2", image.account_id, image.image_id)]
    removal.image_count += len(images)
    # The prefix too: images a running worker wrote before it noticed the job was gone.
    removal.blob_prefixes.append(images_prefix(job.account_id, job.prompt_id))
    removal.inference_job_ids.append(job.id)
    session.execute(delete(ImageAssetRow).where(ImageAssetRow.inference_job_id == job.id))
    session.delete(job)


def remove_blobs(blobs: BlobStore, removal: Removal) -> None:
    for key in removal.blob_keys:
        blobs.delete(key)
    for prefix in removal.blob_prefixes:
        blobs.delete_prefix(prefix)
