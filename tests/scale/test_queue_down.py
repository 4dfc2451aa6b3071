"""Scaled out with Redis unreachable, a submission is refused with a retryable 503 and leaves no job
behind; once Redis answers again the same request is accepted, with no process restarted."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from seckit import SecServer, running, settings

from imprint.queue.celery import CeleryQueue, make_celery
from imprint.store.rows import InferenceJobRow, TrainJobRow

pytestmark = pytest.mark.scale

DEAD_REDIS = "redis://127.0.0.1:1/0"
TRAIN = {"name": "n", "objectType": "dog", "imageUrl": ["https://photos.example/a.png"]}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[SecServer]:
    with running(settings(tmp_path / "data", queue_url=DEAD_REDIS)) as srv:
        yield srv


def _jobs(server: SecServer) -> int:
    with server.sessions() as s:
        return s.query(TrainJobRow).count() + s.query(InferenceJobRow).count()


def test_a_submission_while_redis_is_down_is_refused_and_retryable(server: SecServer,
                                                                   redis_url: str) -> None:
    started = time.monotonic()
    for op, body in [("addModelTrainJob", TRAIN),
                     ("addPreModelInferenceJob", {"imageUrl": TRAIN["imageUrl"], "prompt": "a dog"})]:
        resp = server.call(server.root, op, body=body)
        assert resp.status_code == 503, resp.text
        assert resp.json()["Code"] == "ServiceUnavailable" and resp.headers["Retry-After"]
    assert time.monotonic() - started < 30
    assert _jobs(server) == 0  # nothing left that the caller was not told about

    server.runtime.services.queue = CeleryQueue(make_celery(redis_url))  # Redis is back
    resp = server.call(server.root, "addModelTrainJob", body=TRAIN)
    assert resp.status_code == 200 and resp.json()["data"]["jobStatus"] == "SUBMITTED"
    assert _jobs(server) == 1
