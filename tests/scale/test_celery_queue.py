"""The Celery queue's parts against real Redis and PostgreSQL: messages carry ids only, leases keep a
job to one worker, shutdown hands a job back, and a starting worker resumes unfinished jobs."""

from __future__ import annotations

import base64
import json
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import redis

from imprint.queue import Interrupted, open_queue
from imprint.queue.base import QueueUnavailable
from imprint.queue.celery import TASKS, CeleryQueue, JobLeases, make_celery
from imprint.service import inference, runs, training
from imprint.service.states import Status
from imprint.store.blobs import LocalBlobStore
from imprint.store.db import make_engine, make_session_factory, migrate
from imprint.store.rows import InferenceJobRow, TrainJobRow
from imprint.worker.celery_worker import LeasedRunner, lease_name, resume_unfinished
from imprint.worker.context import WorkerContext

pytestmark = pytest.mark.scale
NOW = datetime(2026, 1, 1)


def _messages(client: redis.Redis, queue: str) -> list[dict[str, Any]]:
    out = []
    for raw in client.lrange(queue, 0, -1):
        message = json.loads(raw)
        body = json.loads(base64.b64decode(message["body"]))
        out.append({"task": message["headers"]["task"], "args": body[0], "kwargs": body[1]})
    return out


def test_enqueue_sends_ids_only_on_the_lane_queues(redis_url: str) -> None:
    queue = open_queue(redis_url, lambda kind, job_id: None, workers={"train": 1, "infer": 1})
    assert isinstance(queue, CeleryQueue) and queue.runs_jobs is False
    queue.enqueue("train", 5)
    queue.enqueue("premodel", 6)  # v2 jobs train first: the train lane, as in-process
    queue.enqueue("infer", 7)
    queue.stop()
    client = redis.Redis.from_url(redis_url)
    # Redis lists are pushed on the left, so the oldest message is last.
    assert _messages(client, "train")[::-1] == [
        {"task": TASKS["train"], "args": ["train", 5], "kwargs": {}},
        {"task": TASKS["train"], "args": ["premodel", 6], "kwargs": {}}]
    assert _messages(client, "infer") == [{"task": TASKS["infer"], "args": ["infer", 7], "kwargs": {}}]
    client.close()


def test_tasks_acknowledge_late() -> None:
    app = make_celery("redis://127.0.0.1:6379/13")
    for name in TASKS.values():
        assert app.tasks[name].acks_late is True
    assert app.conf.worker_prefetch_multiplier == 1


def test_an_unreachable_broker_is_reported_to_the_caller() -> None:
    app = make_celery("redis://127.0.0.1:1/0")
    with pytest.raises(QueueUnavailable, match="unreachable"):
        CeleryQueue(app).enqueue("train", 1)


def test_a_lease_is_held_renewed_and_released(redis_url: str) -> None:
    leases, other = JobLeases.from_url(redis_url, ttl_s=0.3), JobLeases.from_url(redis_url, ttl_s=0.3)
    with leases.hold("train:1") as held:
        assert held
        time.sleep(1.0)  # past the TTL: the holder renewed it
        with other.hold("train:1") as second:
            assert not second
    with other.hold("train:1") as again:
        assert again
    assert leases.claim_once("chore", 5) and not other.claim_once("chore", 5)
    leases.close()
    other.close()


@pytest.fixture
def ctx(pg_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    engine = make_engine(pg_url)
    migrate(engine)
    yield WorkerContext(sessions=make_session_factory(engine), blobs=LocalBlobStore(tmp_path / "blobs"),
                        engine=None, fetch_policy=None, work_dir=tmp_path, default_inference_steps=1)  # type: ignore[arg-type]
    engine.dispose()


def _train_job(ctx: WorkerContext) -> int:
    with ctx.sessions.begin() as session:
        return training.submit_train_job(session, account_id="a", user_id=None, name="m", object_type="dog",
                                         image_urls=["http://x/a.png"], train_steps=1, now=NOW).id


def test_a_second_delivery_does_not_run_a_running_job(ctx: WorkerContext, redis_url: str) -> None:
    job_id = _train_job(ctx)
    leases = JobLeases.from_url(redis_url, ttl_s=0.5)
    ran: list[int] = []
    runner = LeasedRunner(lambda kind, i: ran.append(i), ctx, leases)
    with leases.hold(lease_name("train", job_id)):  # another, live, worker runs it and renews its lease
        runner("train", job_id)
    assert ran == []
    runner("train", job_id)
    assert ran == [job_id]
    leases.close()


def test_a_killed_workers_job_is_taken_over_within_seconds(ctx: WorkerContext, redis_url: str) -> None:
    job_id = _train_job(ctx)
    leases = JobLeases.from_url(redis_url, ttl_s=1.0)
    # What kill -9 leaves: the lease key, renewed by nobody, expiring ttl_s after the last renewal.
    import redis

    client = redis.Redis.from_url(redis_url)
    client.set(f"imprint:lease:{lease_name('train', job_id)}", "dead-worker", px=1000)
    ran: list[float] = []
    started = time.monotonic()
    LeasedRunner(lambda kind, i: ran.append(time.monotonic() - started), ctx, leases)("train", job_id)
    assert len(ran) == 1 and ran[0] < 2.5  # the delivery waited for the dead lease instead of dropping
    client.close()
    leases.close()


def test_progress_never_goes_back_when_a_job_is_retried(ctx: WorkerContext) -> None:
    job_id = _train_job(ctx)
    with ctx.sessions.begin() as session:
        runs.begin_training(session, job_id=job_id, now=NOW)
        runs.record_progress(session, kind=runs.TRAIN, job_id=job_id, fraction=0.3, now=NOW)
    with ctx.sessions.begin() as session:  # the worker died; a replacement starts a new attempt
        runs.begin_training(session, job_id=job_id, now=NOW)
        runs.record_progress(session, kind=runs.TRAIN, job_id=job_id, fraction=0.05, now=NOW)
    with ctx.sessions.begin() as session:
        row = session.get_one(TrainJobRow, job_id)
        assert (row.progress, row.attempts) == (0.3, 2)
        runs.record_progress(session, kind=runs.TRAIN, job_id=job_id, fraction=0.4, now=NOW)
    with ctx.sessions.begin() as session:
        assert session.get_one(TrainJobRow, job_id).progress == 0.4


def test_shutdown_hands_the_job_back(ctx: WorkerContext, redis_url: str) -> None:
    job_id = _train_job(ctx)
    leases = JobLeases.from_url(redis_url)

    def interrupted_run(kind: str, i: int) -> None:
        with ctx.sessions.begin() as session:
            runs.begin_training(session, job_id=i, now=NOW)
        ctx.stopping.set()  # SIGTERM arrives; the engine stops at its next step and the job returns

    with pytest.raises(Interrupted):
        LeasedRunner(interrupted_run, ctx, leases)("train", job_id)
    with ctx.sessions.begin() as session:
        assert session.get_one(TrainJobRow, job_id).status == Status.WAIT_SCHEDULE
    with leases.hold(lease_name("train", job_id)) as free:
        assert free  # released before the message goes back
    leases.close()


def test_a_starting_worker_resumes_every_unfinished_job(ctx: WorkerContext, redis_url: str) -> None:
    running, waiting = _train_job(ctx), _train_job(ctx)
    with ctx.sessions.begin() as session:
        runs.begin_training(session, job_id=running, now=NOW)
        model = training.submit_train_job(session, account_id="a", user_id=None, name="m", object_type="dog",
                                          image_urls=["u"], train_steps=1, now=NOW)
        session.get_one(TrainJobRow, model.id).status = Status.FINISHED.value
        job = inference.submit_inference_job(session, account_id="a", user_id=None, model_id=model.model_id,
                                             prompt="p", image_number=1, seed=None, queue_limit=9, now=NOW)
    sent: list[tuple[str, int]] = []

    class Recorder:
        def enqueue(self, kind: str, job_id: int) -> None:
            sent.append((kind, job_id))

        def start(self) -> None: ...

        def stop(self, timeout: float | None = None) -> None: ...

    leases = JobLeases.from_url(redis_url)
    assert resume_unfinished(ctx.sessions, Recorder(), leases) == 3
    assert sent == [("train", running), ("train", waiting), ("infer", job.id)]
    # Statuses stay: another worker may be running the TRAINING one.
    with ctx.sessions.begin() as session:
        assert session.get_one(TrainJobRow, running).status == Status.TRAINING
        assert session.get_one(InferenceJobRow, job.id).status == Status.SUBMITTED
    assert resume_unfinished(ctx.sessions, Recorder(), leases) == 0  # the other starting workers
    leases.close()


def test_concurrent_deliveries_run_a_job_once(ctx: WorkerContext, redis_url: str) -> None:
    job_id = _train_job(ctx)
    calls: list[int] = []
    gate = threading.Event()

    def slow(kind: str, i: int) -> None:  # as the dispatcher does: a job that ended is skipped
        with ctx.sessions.begin() as session:
            if runs.begin_training(session, job_id=i, now=NOW) is None:
                return
        calls.append(i)
        gate.wait(5)
        with ctx.sessions.begin() as session:
            runs.fail_training(session, job_id=i, status=Status.TRAINING_TERMINATED, reason="done", now=NOW)

    runners = [LeasedRunner(slow, ctx, JobLeases.from_url(redis_url)) for _ in range(3)]
    threads = [threading.Thread(target=r, args=("train", job_id)) for r in runners]
    for t in threads:
        t.start()
    time.sleep(0.5)
    gate.set()
    for t in threads:
        t.join(10)
    assert calls == [job_id]
