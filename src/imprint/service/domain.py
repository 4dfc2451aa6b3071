"""Plain domain objects handed from the service to its callers; no ORM, no wire names."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class InferenceJob:
    id: int
    model_id: str
    prompt_id: str
    status: str
    progress: float
    result_image_ids: list[str] | None
    created_at: datetime
    created_by: str | None
    failure_reason: str | None


@dataclass(frozen=True)
class TrainJob:
    id: int
    model_id: str
    name: str
    object_type: str
    image_urls: list[str]
    status: str
    progress: float
    created_at: datetime
    failure_reason: str | None
    inference_jobs: list[InferenceJob] = field(default_factory=list)

    @property
    def image_count(self) -> int:
        return sum(len(j.result_image_ids or ()) for j in self.inference_jobs)


@dataclass(frozen=True)
class ImageAsset:
    image_id: str
    blob_key: str
    sha256: str
    size: int
    width: int
    height: int


@dataclass(frozen=True)
class ImageContent:
    asset: ImageAsset
    data: bytes


@dataclass(frozen=True)
class NewKey:
    access_key_id: str
    secret: str
    account_id: str


@dataclass(frozen=True)
class KeyInfo:
    access_key_id: str
    account_id: str
    active: bool
    created_at: datetime
