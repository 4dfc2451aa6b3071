"""Plain domain objects handed from the service to its callers; no ORM, no wire names."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


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
    warnings: tuple[str, ...] = ()
    started_at: datetime | None = None
    # The generation controls asked for (imprint.service.controls), by their domain names.
    controls: dict[str, Any] | None = None


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
    warnings: tuple[str, ...] = ()
    started_at: datetime | None = None

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
    secret: str = field(repr=False)
    account_id: str
    user_id: str | None = None


@dataclass(frozen=True)
class KeyInfo:
    access_key_id: str
    account_id: str
    active: bool
    created_at: datetime
    user_id: str | None = None
    expires_at: datetime | None = None

    @property
    def temporary(self) -> bool:
        return self.expires_at is not None


@dataclass(frozen=True)
class TemporaryCredentials:
    access_key_id: str
    secret: str = field(repr=False)
    security_token: str = field(repr=False)
    expires_at: datetime
    account_id: str
    user_id: str


@dataclass(frozen=True)
class Account:
    id: str
    name: str
    created_at: datetime


@dataclass(frozen=True)
class AttachedPolicy:
    policy_type: str
    policy_name: str


@dataclass(frozen=True)
class User:
    id: str
    account_id: str
    name: str
    created_at: datetime
    policies: list[AttachedPolicy] = field(default_factory=list)


@dataclass(frozen=True)
class Policy:
    name: str
    policy_type: str
    description: str
    document: dict[str, Any]
    account_id: str | None
    created_at: datetime | None
