"""The attack suite's kit: a real imprint server without workers (jobs stay as the test leaves them,
no model is ever loaded), tenants seeded with finished models, jobs and images through the service
layer, identities made the way an administrator makes them, an ACS3 signer that can add a security
token, and the official SDK clients."""

from __future__ import annotations

import io
import json
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from alibabacloud_aicontent20240611.client import Client as NewClient
from alibabacloud_tea_openapi import models as open_api_models
from PIL import Image
from secwire import ALLOW_ALL, OPS, PREFIX, Key, assert_no_leak, policy, sign
from serving_kit import as_served, serve_in_thread

from imprint.config import Settings
from imprint.runtime import Runtime, build_runtime, utcnow
from imprint.service import inference, keys, policies, runs, sts, training, users
from imprint.service.runs import GeneratedImage
from imprint.store.blobs.base import BlobRef
from imprint.store.rows import TrainJobRow

# Re-exported so that tests import the whole kit from one place.
__all__ = ["ALLOW_ALL", "OPS", "PREFIX", "Key", "assert_no_leak", "policy", "sign"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def png(seed: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (seed % 256, 40, 90)).save(buf, format="PNG")
    return buf.getvalue()


@dataclass
class Tenant:
    """An account with one finished model (and its inference job and images) and one finished v2 job."""

    account_id: str
    root: Key
    image_urls: list[str]
    model_id: str = ""
    train_job_id: int = 0
    job_id: int = 0
    prompt_id: str = ""
    image_ids: list[str] = field(default_factory=list)
    v2_job_id: int = 0
    v2_model_id: str = ""
    v2_prompt_id: str = ""
    v2_image_ids: list[str] = field(default_factory=list)


@dataclass
class SecServer:
    runtime: Runtime
    port: int
    root: Key
    _server: uvicorn.Server
    _thread: threading.Thread

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def sessions(self):  # type: ignore[no-untyped-def]
        return self.runtime.services.sessions

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(10)
        self.runtime.stop(timeout=5)

    # --- clients -------------------------------------------------------------------------------
    def new_client(self, key: Key, **config: Any) -> NewClient:
        return NewClient(
            open_api_models.Config(
                access_key_id=key.access_key_id,
                access_key_secret=key.secret,
                security_token=key.token,
                endpoint=self.endpoint,
                protocol="http",
                region_id="cn-shanghai",
                **config,
            )
        )

    def old_client(self, key: Key) -> Any:
        from aliyunsdkcore.auth.credentials import AccessKeyCredential, StsTokenCredential
        from aliyunsdkcore.client import AcsClient

        credential = (
            StsTokenCredential(key.access_key_id, key.secret, key.token)
            if key.token
            else AccessKeyCredential(key.access_key_id, key.secret)
        )
        return AcsClient(region_id="cn-shanghai", credential=credential)

    def old_call(self, key: Key, request: Any) -> bytes:
        request.set_endpoint(self.endpoint)
        request.set_protocol_type("http")
        return self.old_client(key).do_action_with_exception(request)  # type: ignore[no-any-return]

    def call(
        self,
        key: Key,
        op: str,
        *,
        query: dict[str, str] | None = None,
        body: Any = None,
        raw: bytes | None = None,
        content_type: str | None = None,
        headers: dict[str, str] | None = None,
        signed_headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """One V3-signed request, for what the SDKs cannot send (odd values, extra headers)."""
        action, _, method = OPS[op]
        data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
        if content_type is None and method == "POST":
            content_type = "application/json; charset=utf-8"
        target, signed = sign(
            method,
            PREFIX + op,
            query or {},
            data,
            action=action,
            host=self.endpoint,
            key=key,
            content_type=content_type,
            extra=signed_headers,
        )
        return httpx.request(
            method,
            f"http://{self.endpoint}{target}",
            content=data,
            headers={**signed, **(headers or {})},
            timeout=30,
        )

    # --- identities, as an administrator makes them ----------------------------------------------
    def account(self, name: str) -> Key:
        from imprint.service import accounts

        with self.sessions.begin() as s:
            account = accounts.create_account(s, name=name, now=utcnow())
            new = keys.create_key(s, box=self.runtime.services.box, account_id=account.id, now=utcnow())
        return Key(new.access_key_id, new.secret)

    def account_of(self, key: Key) -> str:
        found = self.runtime.services.keys.get(key.access_key_id)
        assert found is not None
        return found.account_id

    def user(
        self, account_id: str, *documents: dict[str, Any], system: tuple[str, ...] = ()
    ) -> tuple[str, Key]:
        """A RAM user with one custom policy per document (and the named System ones) and a key."""
        box = self.runtime.services.box
        with self.sessions.begin() as s:
            user = users.create_user(
                s, account_id=account_id, name=f"u-{uuid.uuid4().hex[:12]}", now=utcnow()
            )
            for doc in documents:
                name = f"p-{uuid.uuid4().hex[:12]}"
                policies.create_policy(s, account_id=account_id, name=name, document=doc, now=utcnow())
                policies.attach(s, user_id=user.id, policy_name=name, now=utcnow())
            for name in system:
                policies.attach(s, user_id=user.id, policy_name=name, policy_type="System", now=utcnow())
            new = keys.create_key(s, box=box, account_id=None, user_id=user.id, now=utcnow())
        return user.id, Key(new.access_key_id, new.secret)

    def temporary(
        self,
        user_id: str,
        *,
        inline: dict[str, Any] | None = None,
        duration_s: int = 3600,
        issued_at: datetime | None = None,
    ) -> Key:
        with self.sessions.begin() as s:
            creds = sts.issue(
                s,
                box=self.runtime.services.box,
                user_id=user_id,
                now=issued_at or utcnow(),
                duration_s=duration_s,
                policy=inline,
            )
        return Key(creds.access_key_id, creds.secret, creds.security_token)

    # --- data ---------------------------------------------------------------------------------
    def seed(self, key: Key, urls: list[str]) -> Tenant:
        """A finished v1 model with a finished 2-image inference job, and a finished 2-image v2 job."""
        account_id = self.account_of(key)
        t = Tenant(account_id, key, urls)
        blobs, now = self.runtime.services.blobs, utcnow()
        with self.sessions.begin() as s:
            model = training.submit_train_job(
                s,
                account_id=account_id,
                user_id=None,
                name="secret model",
                object_type="dog",
                image_urls=urls,
                train_steps=1,
                now=now,
            )
            adapter = blobs.put_bytes(f"adapters/{account_id}/{model.model_id}.safetensors", b"adapter")
            row = s.get_one(TrainJobRow, model.id)
            row.status, row.adapter_key, row.adapter_sha256 = "FINISHED", adapter.key, adapter.sha256
            t.model_id, t.train_job_id = model.model_id, model.id
            job = inference.submit_inference_job(
                s,
                account_id=account_id,
                user_id=None,
                model_id=model.model_id,
                prompt="a <special-token> dog",
                image_number=2,
                seed=1,
                queue_limit=1000,
                now=now,
            )
            t.job_id, t.prompt_id = job.id, job.prompt_id
            t.image_ids = self._finish(s, job.id, account_id)
            v2 = inference.submit_premodel_job(
                s,
                account_id=account_id,
                user_id=None,
                image_urls=urls,
                prompt="a <special-token> dog",
                object_type="dog",
                train_steps=1,
                image_number=2,
                seed=1,
                strength=0.5,
                queue_limit=1000,
                now=now,
            )
            t.v2_job_id, t.v2_model_id, t.v2_prompt_id = v2.id, v2.model_id, v2.prompt_id
            t.v2_image_ids = self._finish(s, v2.id, account_id, v2=True)
        return t

    def _finish(self, s: Any, job_id: int, account_id: str, *, v2: bool = False) -> list[str]:
        blobs, now = self.runtime.services.blobs, utcnow()
        work = runs.begin_inference(s, job_id=job_id, now=now)
        assert work is not None
        if v2:
            adapter = blobs.put_bytes(f"adapters/{account_id}/{work.model_id}.safetensors", b"adapter")
            runs.finish_premodel_training(
                s,
                train_job_id=work.model.job_id,
                adapter=BlobRef(adapter.key, adapter.sha256, adapter.size),
                now=now,
            )
        images = []
        for i, image_id in enumerate(runs.image_ids(work)):
            blob = blobs.put_bytes(f"images/{account_id}/{work.prompt_id}/{image_id}", png(job_id * 10 + i))
            images.append(GeneratedImage(image_id, blob, 8, 8))
        runs.finish_inference(s, job_id=job_id, images=images, now=now)
        return [i.image_id for i in images]


def settings(data_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = dict(
        data_dir=data_dir, base_model=str(data_dir / "no-model"), key_cache_ttl_s=0.0, rate_limit_per_s=0.0
    )
    values.update(overrides)
    return Settings(**values)


def start(config: Settings) -> SecServer:
    runtime = build_runtime(config)
    port = free_port()
    server = as_served(runtime.app, port)
    thread = serve_in_thread(server)
    # A data dir from an earlier start has no first key to hand out; its tests bring their own.
    first = runtime.first_key
    root = Key(first.access_key_id, first.secret) if first else Key("", "")
    return SecServer(runtime, port, root, server, thread)


@contextmanager
def running(config: Settings) -> Iterator[SecServer]:
    server = start(config)
    try:
        yield server
    finally:
        server.stop()


def ago(**delta: float) -> datetime:
    return utcnow() - timedelta(**delta)
