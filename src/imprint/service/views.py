"""Row -> domain conversions, shared by the use-case modules."""

from __future__ import annotations

from imprint.service.domain import ImageAsset, InferenceJob, TrainJob
from imprint.store.rows import ImageAssetRow, InferenceJobRow, TrainJobRow


def inference_job(row: InferenceJobRow) -> InferenceJob:
    return InferenceJob(
        id=row.id, model_id=row.model_id, prompt_id=row.prompt_id, status=row.status,
        progress=row.progress, result_image_ids=list(row.result_image_ids) if row.result_image_ids else None,
        created_at=row.created_at, created_by=row.created_by, failure_reason=row.failure_reason,
        warnings=tuple(row.warnings or ()), started_at=row.started_at,
        controls=dict(row.controls) if row.controls else None,
    )


def train_job(row: TrainJobRow, inference_jobs: list[InferenceJob] | None = None) -> TrainJob:
    return TrainJob(
        id=row.id, model_id=row.model_id, name=row.name, object_type=row.object_type,
        image_urls=list(row.image_urls), status=row.status, progress=row.progress,
        created_at=row.created_at, failure_reason=row.failure_reason, inference_jobs=inference_jobs or [],
        warnings=tuple(row.warnings or ()), started_at=row.started_at,
    )


def image_asset(row: ImageAssetRow) -> ImageAsset:
    return ImageAsset(image_id=row.image_id, blob_key=row.blob_key, sha256=row.sha256, size=row.size,
                      width=row.width, height=row.height)
