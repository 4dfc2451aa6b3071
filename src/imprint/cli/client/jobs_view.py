"""Job objects of the API as the CLI shows and follows them."""

from __future__ import annotations

from typing import Any

from imprint.cli.client.api import ImprintClient
from imprint.cli.client.waiting import JobState


def training_state(client: ImprintClient, model_id: str) -> JobState:
    reply = client.train_status(model_id)
    data = reply.data or {}
    reason = reply.notice[1] if reply.notice else None
    return JobState(str(data.get("modelTrainStatus")), float(data.get("jobTrainProgress") or 0.0), reason,
                    {"modelId": model_id, **data}, data.get("etaSeconds"))


def inference_state(client: ImprintClient, job_id: str) -> JobState:
    reply = client.inference_job(job_id)
    data: dict[str, Any] = reply.data or {}
    reason = data.get("failureReason") or (reply.notice[1] if reply.notice else None)
    return JobState(str(data.get("jobStatus")), float(data.get("jobTrainProgress") or 0.0), reason, data,
                    data.get("etaSeconds"))


def is_inference_job_id(job_id: str) -> bool:
    """Inference job ids are numbers; models (training jobs) are named by their model id."""
    return job_id.isdigit()


def follow_hint(job_id: str) -> str:
    return f"imprint jobs show {job_id} --follow"
