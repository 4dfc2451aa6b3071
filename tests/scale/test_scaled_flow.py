"""End to end, scaled out: the API (uvicorn on loopback) hands jobs through Redis to `imprint worker` in
another process; both share PostgreSQL, and S3 (a moto server) where moto is installed. Driven by the
official new SDK, as the embedded default is in tests/api/test_v1_flow.py."""

from __future__ import annotations

import base64
import io
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from alibabacloud_aicontent20240611 import models as m
from alibabacloud_aicontent20240611.client import Client
from apikit import ImageServer, Server, png_bytes, settings_for, start_server, wait_for
from PIL import Image
from scalekit import S3, WorkerProcess, start_s3
from sqlalchemy import create_engine, text

pytestmark = [pytest.mark.scale, pytest.mark.slow]


@dataclass
class Deployment:
    server: Server
    image_urls: list[str]
    s3: S3 | None
    tmp_path: Path
    base_model: Path

    def worker(self, name: str = "worker") -> WorkerProcess:
        """`imprint worker` with the serving process's URLs, as an operator would start it."""
        s = self.server.runtime.settings
        args = ["--queues", "train,infer", "--pool", "solo", "--data-dir", str(self.tmp_path / name),
                "--base-model", str(self.base_model), "--database-url", str(s.database_url),
                "--queue-url", str(s.queue_url), "--allow-fetch-from", "127.0.0.0/8",
                "--inference-steps", "2"]
        args += ["--blob-url", s.blob_url] if s.blob_url else []
        return WorkerProcess(args, env=self.s3.env if self.s3 else {}, log=self.tmp_path / f"{name}.log")


@contextmanager
def scaled_out(tmp_path: Path, base_model: Path, pg_url: str, redis_url: str,
               monkeypatch: pytest.MonkeyPatch) -> Iterator[Deployment]:
    """The API process on loopback with PostgreSQL, Redis and S3 (where moto is installed)."""
    images = ImageServer()
    urls = [images.add(f"dog{i}.png", png_bytes(i)) for i in range(2)]
    started = start_s3()
    s3 = started[0] if started is not None else None
    if s3 is not None:
        for name, value in s3.env.items():
            monkeypatch.setenv(name, value)
    settings = settings_for(tmp_path / "api", base_model, database_url=pg_url, queue_url=redis_url,
                            blob_url=f"s3://{s3.bucket}/scaled" if s3 else None)
    server = start_server(settings)
    try:
        yield Deployment(server, urls, s3, tmp_path, base_model)
    finally:
        server.stop()
        images.close()
        if started is not None:
            started[1].stop()  # type: ignore[attr-defined]


def _train_status(client: Client, model_id: str):  # type: ignore[no-untyped-def]
    return client.personalizedtxt_2img_query_model_train_status(
        m.Personalizedtxt2imgQueryModelTrainStatusRequest(model_id=model_id)).body.data


def _submit_training(client: Client, urls: list[str], steps: int) -> str:
    return client.personalizedtxt_2img_add_model_train_job(m.Personalizedtxt2imgAddModelTrainJobRequest(
        name="my dog", object_type="dog", image_url=urls, train_steps=steps)).body.data.model_id


def _infer(client: Client, model_id: str) -> m.Personalizedtxt2imgQueryInferenceJobInfoResponseBodyData:
    job = client.personalizedtxt_2img_add_inference_job(m.Personalizedtxt2imgAddInferenceJobRequest(
        model_id=model_id, prompt="a <special-token> in the snow", image_number=2, seed=7)).body.data
    return wait_for(lambda: client.personalizedtxt_2img_query_inference_job_info(
        m.Personalizedtxt2imgQueryInferenceJobInfoRequest(inference_job_id=job.id)).body.data,
        lambda d: d.job_status)


def test_v1_flow_through_a_celery_worker(tmp_path: Path, base_model: Path, pg_url: str, redis_url: str,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    with scaled_out(tmp_path, base_model, pg_url, redis_url, monkeypatch) as d:
        assert d.server.runtime.queue.runs_jobs is False
        client = d.server.new_client()
        # Submitted before any worker runs: the message waits in Redis; the API process runs no job.
        model_id = _submit_training(client, d.image_urls, 3)
        time.sleep(1.0)
        assert _train_status(client, model_id).model_train_status == "SUBMITTED"
        worker = d.worker()
        try:
            trained = wait_for(lambda: _train_status(client, model_id), lambda s: s.model_train_status)
            assert trained.model_train_status == "FINISHED", worker.output()[-4000:]
            done = _infer(client, model_id)
            assert done.job_status == "FINISHED", worker.output()[-4000:]
            assert done.result_image_url == ["0000.png", "0001.png"]
            sizes = set()
            for image_id in done.result_image_url:
                request = m.Personalizedtxt2imgQueryImageAssetRequest(
                    model_id=model_id, prompt_id=done.prompt_id, image_id=image_id, encode_format="base64")
                text_ = client.personalizedtxt_2img_query_image_asset(request).body
                img = Image.open(io.BytesIO(base64.b64decode(text_)))
                assert img.format == "PNG"
                sizes.add(img.size)
            assert len(sizes) == 1
        finally:
            assert worker.stop() == 0, worker.output()[-4000:]
        if d.s3 is not None:
            # The worker wrote adapter and images to S3, and the API served them from there.
            account = d.server.runtime.first_key.account_id  # type: ignore[union-attr]
            keys = {o["Key"] for o in d.s3.client().list_objects_v2(Bucket=d.s3.bucket)["Contents"]}
            assert {f"scaled/adapters/{account}/{model_id}.safetensors",
                    f"scaled/images/{account}/{done.prompt_id}/0000.png",
                    f"scaled/images/{account}/{done.prompt_id}/0001.png"} <= keys
            assert not (tmp_path / "api" / "blobs" / "images").exists()


def _attempts(pg_url: str, model_id: str) -> int:
    engine = create_engine(pg_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT attempts FROM train_jobs WHERE model_id = :m"),
                                    {"m": model_id}).scalar_one())
    finally:
        engine.dispose()


def test_a_stopped_worker_hands_its_job_to_the_next(tmp_path: Path, base_model: Path, pg_url: str,
                                                    redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with scaled_out(tmp_path, base_model, pg_url, redis_url, monkeypatch) as d:
        client = d.server.new_client()
        worker = d.worker("first")
        worker.wait_for_output("ready.")
        model_id = _submit_training(client, d.image_urls, 5000)  # far longer than the test
        deadline = time.monotonic() + 120
        while (status := _train_status(client, model_id)).model_train_status != "TRAINING":
            assert time.monotonic() < deadline and status.model_train_status == "SUBMITTED", worker.output()
            time.sleep(0.1)
        # Warm shutdown: the job stops at the next step, goes back to waiting, its message back to Redis.
        assert worker.stop(timeout=60) == 0, worker.output()[-4000:]
        assert _train_status(client, model_id).model_train_status == "WAIT_SCHEDULE"
        assert _attempts(pg_url, model_id) == 1
        queued = redis.Redis.from_url(redis_url)
        assert queued.llen("train") == 1  # the message, never acknowledged, is back in Redis
        queued.close()
        second = d.worker("second")
        try:
            deadline = time.monotonic() + 120
            while _train_status(client, model_id).model_train_status != "TRAINING":
                assert time.monotonic() < deadline, second.output()[-4000:]
                time.sleep(0.1)
            assert _attempts(pg_url, model_id) == 2
        finally:
            assert second.stop(timeout=60) == 0, second.output()[-4000:]
        assert _train_status(client, model_id).model_train_status == "WAIT_SCHEDULE"
        assert "interrupted by shutdown" in worker.output()


def test_a_killed_workers_job_is_resumed_by_the_next_worker(tmp_path: Path, base_model: Path, pg_url: str,
                                                            redis_url: str,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    with scaled_out(tmp_path, base_model, pg_url, redis_url, monkeypatch) as d:
        client = d.server.new_client()
        worker = d.worker("killed")
        worker.wait_for_output("ready.")
        model_id = _submit_training(client, d.image_urls, 5000)
        deadline = time.monotonic() + 120
        while _train_status(client, model_id).model_train_status != "TRAINING":
            assert time.monotonic() < deadline, worker.output()[-4000:]
            time.sleep(0.1)
        worker.proc.kill()  # no shutdown: the job stays TRAINING, its message unacknowledged in Redis
        worker.proc.wait()
        assert _train_status(client, model_id).model_train_status == "TRAINING"
        second = d.worker("second")
        try:
            # Once the dead worker's lease has expired, the new one resumes the job.
            deadline = time.monotonic() + 150
            while _attempts(pg_url, model_id) < 2:
                assert time.monotonic() < deadline, second.output()[-4000:]
                time.sleep(0.2)
            assert "re-enqueued 1 unfinished job(s)" in second.output()
        finally:
            assert second.stop(timeout=60) == 0, second.output()[-4000:]
