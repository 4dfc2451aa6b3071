"""ORM rows: the stored shape of accounts, RAM users and policies, keys, jobs, image assets and
uploaded photos.
Every job row carries its tenant."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class AccountRow(Base):
    __tablename__ = "accounts"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime)


class UserRow(Base):
    """A RAM user: belongs to one account, carries AccessKeys and attached policies."""

    __tablename__ = "ram_users"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    name: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime)

    __table_args__ = (Index("ux_ram_users_account_name", "account_id", "name", unique=True),)


class PolicyRow(Base):
    """A custom policy of one account; the document is kept as the JSON text that was validated."""

    __tablename__ = "ram_policies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    name: Mapped[str] = mapped_column(String(128))
    description: Mapped[str] = mapped_column(Text, default="")
    document: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime)

    __table_args__ = (Index("ux_ram_policies_account_name", "account_id", "name", unique=True),)


class PolicyAttachmentRow(Base):
    """A policy attached to a user, by type ("System" or "Custom") and name, as RAM names them."""

    __tablename__ = "ram_policy_attachments"

    user_id: Mapped[str] = mapped_column(ForeignKey("ram_users.id"), primary_key=True)
    policy_type: Mapped[str] = mapped_column(String(16), primary_key=True)
    policy_name: Mapped[str] = mapped_column(String(128), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(32))
    attached_at: Mapped[datetime] = mapped_column(DateTime)


class AccessKeyRow(Base):
    __tablename__ = "access_keys"

    access_key_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    # HMAC verification needs the secret itself, so it cannot be stored hashed: it is sealed with
    # the server key instead (imprint.store.secret_box), bound to this key id.
    secret: Mapped[str] = mapped_column(String(512))
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    # None for the account's own keys; a RAM user's id otherwise.
    user_id: Mapped[str | None] = mapped_column(ForeignKey("ram_users.id"), nullable=True, index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    # Temporary (STS) keys only: the sealed security token, the expiry and the inline policy.
    security_token: Mapped[str | None] = mapped_column(Text, nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    session_policy: Mapped[str | None] = mapped_column(Text, nullable=True)


class TrainJobRow(Base):
    __tablename__ = "train_jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(String(32))
    created_by: Mapped[str | None] = mapped_column(String(32), nullable=True)
    model_id: Mapped[str] = mapped_column(String(128), unique=True)
    # "v1": a model the caller trained; "v2": the internal model of a pre-model inference job.
    origin: Mapped[str] = mapped_column(String(8), default="v1")
    name: Mapped[str] = mapped_column(Text)
    object_type: Mapped[str] = mapped_column(String(64))
    image_urls: Mapped[list[str]] = mapped_column(JSON)
    train_steps: Mapped[int] = mapped_column(Integer)
    seed: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(32))
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    failure_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    adapter_key: Mapped[str | None] = mapped_column(String(256), nullable=True)
    adapter_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # Short sentences for the caller: inputs that were capped, cut or are unlikely to give what was
    # asked (imprint.service.warnings); None and [] both mean none.
    warnings: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    # When the current run began (for the ETA); progress over elapsed time extrapolates the rest.
    started_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    # A raw-HTTP caller's `callbackUrl`: told of this job's start and end like a registered endpoint.
    callback_url: Mapped[str | None] = mapped_column(Text, nullable=True)

    # sqlite_autoincrement: a deleted row's id is never handed out again (migration 0005).
    __table_args__ = (Index("ix_train_jobs_account_origin", "account_id", "origin", "id"),
                      Index("ix_train_jobs_status", "status"), {"sqlite_autoincrement": True})


class InferenceJobRow(Base):
    __tablename__ = "inference_jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(String(32))
    created_by: Mapped[str | None] = mapped_column(String(32), nullable=True)
    train_job_id: Mapped[int] = mapped_column(ForeignKey("train_jobs.id"))
    model_id: Mapped[str] = mapped_column(String(128))
    prompt_id: Mapped[str] = mapped_column(String(64), unique=True)
    generation: Mapped[str] = mapped_column(String(8), default="v1")
    prompt: Mapped[str] = mapped_column(Text)
    image_number: Mapped[int] = mapped_column(Integer)
    seed: Mapped[int] = mapped_column(Integer)
    strength: Mapped[float | None] = mapped_column(Float, nullable=True)
    # The generation controls asked for (imprint.service.controls.Controls as a dict); NULL: defaults.
    controls: Mapped[dict[str, object] | None] = mapped_column(JSON, nullable=True)
    status: Mapped[str] = mapped_column(String(32))
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    failure_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Denormalised from image_assets so that listing jobs needs no join per job.
    result_image_ids: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    # Short sentences for the caller: inputs that were capped, cut or are unlikely to give what was
    # asked (imprint.service.warnings); None and [] both mean none.
    warnings: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    # When the current run began (for the ETA); progress over elapsed time extrapolates the rest.
    started_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    # A raw-HTTP caller's `callbackUrl`: told of this job's start and end like a registered endpoint.
    callback_url: Mapped[str | None] = mapped_column(Text, nullable=True)

    __table_args__ = (Index("ix_inference_jobs_account", "account_id", "train_job_id"),
                      Index("ix_inference_jobs_status", "status"), {"sqlite_autoincrement": True})


class ImageAssetRow(Base):
    __tablename__ = "image_assets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(String(32))
    inference_job_id: Mapped[int] = mapped_column(ForeignKey("inference_jobs.id"))
    model_id: Mapped[str] = mapped_column(String(128))
    prompt_id: Mapped[str] = mapped_column(String(64))
    image_id: Mapped[str] = mapped_column(String(128))
    blob_key: Mapped[str] = mapped_column(String(256))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime)

    __table_args__ = (Index("ux_image_assets_prompt_image", "prompt_id", "image_id", unique=True),
                      Index("ix_image_assets_account_image", "account_id", "image_id"),
                      {"sqlite_autoincrement": True})


class UploadRow(Base):
    """A photo uploaded to train on (uploadImage); its bytes are the blob at `blob_key`. The row is
    what makes it findable per account and sweepable by age."""

    __tablename__ = "uploads"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(32))
    blob_key: Mapped[str] = mapped_column(String(256))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    format: Mapped[str] = mapped_column(String(8))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime)

    __table_args__ = (Index("ix_uploads_account", "account_id"),
                      Index("ix_uploads_created_at", "created_at"))
