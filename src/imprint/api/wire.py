"""Domain objects in Alibaba's wire shape (camelCase, string ids, `resultImageUrl` holding ids)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from imprint.api.urls import redacted
from imprint.service.domain import InferenceJob, TrainJob
from imprint.service.eta import eta_seconds
from imprint.service.states import Status, is_terminal
from imprint.service.uploads import Upload


def timestamp(value: datetime) -> str:
    return value.isoformat(timespec="microseconds")


def progress_extras(job: InferenceJob | TrainJob, now: datetime | None) -> dict[str, Any]:
    """Keys beyond the contract (the SDK models drop them; raw JSON readers get them): what the job
    warns about and the seconds it has left (of a running job only when `now` is given)."""
    return {"warnings": list(job.warnings),
            "etaSeconds": eta_seconds(job.status, job.progress, job.started_at, now)}


def inference_job(job: InferenceJob, now: datetime | None = None) -> dict[str, Any]:
    return {
        "id": str(job.id),
        "promptId": job.prompt_id,
        "modelId": job.model_id,
        "jobStatus": job.status,
        "jobTrainProgress": job.progress,
        "resultImageUrl": job.result_image_ids,
        "createTime": timestamp(job.created_at),
        "createUserId": job.created_by,
        "failureReason": job.failure_reason,
        "controls": {_CONTROL_NAMES[k]: v for k, v in (job.controls or {}).items() if k in _CONTROL_NAMES},
        **progress_extras(job, now),
    }


# The generation controls as the request names them (docs/api-decisions.md).
_CONTROL_NAMES = {"negative_prompt": "negativePrompt", "steps": "steps", "guidance_scale": "guidanceScale",
                  "width": "width", "height": "height", "adapter_scale": "adapterScale",
                  "scheduler": "scheduler"}


def train_job(job: TrainJob, now: datetime | None = None) -> dict[str, Any]:
    return {
        "id": str(job.id),
        "modelId": job.model_id,
        "name": job.name,
        "objectType": job.object_type,
        "imageUrl": [redacted(url) for url in job.image_urls],
        "jobStatus": job.status,
        "jobTrainProgress": job.progress,
        "inferenceJobList": [inference_job(j, now) for j in job.inference_jobs],
        "inferenceImageCount": job.image_count,
        "createTime": timestamp(job.created_at),
        "failureReason": job.failure_reason,
        **progress_extras(job, now),
    }


def failure_notice(status: str, reason: str | None) -> tuple[str, str] | None:
    if status == Status.FINISHED or not is_terminal(status):
        return None
    return status, reason or status


def upload(item: Upload) -> dict[str, Any]:
    return {"uploadId": item.id, "imageUrl": item.url, "format": item.format, "width": item.width,
            "height": item.height, "size": item.size, "sha256": item.sha256}
