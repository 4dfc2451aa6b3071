"""Jobs through Celery and Redis, for workers on other hosts (``imprint worker``).

A message is a job kind and a row id, as in the in-process queue: tasks ``imprint.train`` and
``imprint.infer`` on the queues ``train`` and ``infer`` (v2 jobs train first, so they take the train
lane, as in-process). The database stays the record: the worker re-reads the row, and a job that
ended is skipped, so a message delivered twice costs one read.

Acknowledgement is late: a message leaves Redis only once the job function returned, so a worker
that dies mid-job leaves its message to be delivered again. Two deliveries must never run one job at
once (a duplicate from recovery, or Redis handing a message out again after the visibility timeout
while the first worker still runs it): the worker holds a lease per job (``JobLeases``), a Redis key
that expires unless renewed, and a delivery that finds the lease taken is dropped.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from celery import Celery, Task
from celery.exceptions import Reject

from imprint.queue.base import LANES, Interrupted, QueueUnavailable, Runner

log = logging.getLogger(__name__)

TASKS: dict[str, str] = {"train": "imprint.train", "infer": "imprint.infer"}
# How long Redis waits for the acknowledgement of a delivered message before handing it out again. Long:
# a worker that crashed is recovered sooner by its own restart (imprint.worker.celery_worker resumes
# unfinished jobs on start), and a longer-running job's second delivery is dropped by the lease anyway.
VISIBILITY_TIMEOUT_S = 6 * 3600
# How long a dead worker's lease outlives it; a live holder renews it every third of that. Short, so
# that a job whose worker was killed is taken over within seconds (LeasedRunner waits this long).
LEASE_TTL_S = 6.0


class ImprintCelery(Celery):
    """The Celery app of one process. API processes only send; a worker process also has a runner."""

    def __init__(self, url: str, runner: Runner | None = None) -> None:
        super().__init__("imprint", broker=url, set_as_current=False)
        self.job_runner = runner
        self.conf.update(
            task_acks_late=True,
            # One job reserved at a time: a prefetched message would wait behind a long training
            # while another worker sits idle.
            worker_prefetch_multiplier=1,
            task_ignore_result=True,
            task_serializer="json",
            accept_content=["json"],
            task_routes={name: {"queue": lane} for lane, name in TASKS.items()},
            broker_transport_options={"visibility_timeout": VISIBILITY_TIMEOUT_S},
            broker_connection_retry_on_startup=True,
            # A submission waits this long at most for an unreachable Redis before it is refused.
            broker_connection_timeout=2.0,
            task_publish_retry_policy={"max_retries": 2, "interval_start": 0.0, "interval_step": 0.5,
                                       "interval_max": 0.5},
            # imprint's logging stays as the command set it up, and progress bars stay on stderr rather
            # than becoming log lines.
            worker_hijack_root_logger=False,
            worker_redirect_stdouts=False,
        )
        for name in TASKS.values():
            # shared=False: the tasks belong to this app only, not to Celery's process-wide registry.
            self.task(name=name, bind=True, acks_late=True, shared=False)(_run_job)


def _run_job(task: Task, kind: str, job_id: int) -> None:
    runner = task.app.job_runner  # type: ignore[attr-defined]
    if runner is None:
        raise RuntimeError("this process has no job runner; jobs are run by `imprint worker`")
    if kind not in LANES:
        log.error("dropped a message with an unknown job kind %r", kind)
        return
    try:
        runner(kind, int(job_id))
    except Interrupted:
        # Shutdown stopped the job: the message goes back to Redis for the next worker (it was never
        # acknowledged, acks_late), as the in-process queue re-runs it on the next start.
        raise Reject("interrupted by shutdown", requeue=True) from None


def make_celery(url: str, *, runner: Runner | None = None) -> ImprintCelery:
    return ImprintCelery(url, runner)


class CeleryQueue:
    """The JobQueue of a process whose jobs Celery workers run: sends, never runs."""

    runs_jobs = False

    def __init__(self, app: Celery) -> None:
        self.app = app

    def enqueue(self, kind: str, job_id: int) -> None:
        lane = LANES[kind]
        try:
            self.app.send_task(TASKS[lane], args=(kind, job_id), queue=lane)
        except Exception as exc:
            # Nothing would run the job until some worker restarts: the caller is refused instead
            # (the dispatcher withdraws the job and answers a retryable 503).
            log.warning("could not hand %s job %s to Redis: %s", kind, job_id, exc)
            raise QueueUnavailable(f"the job queue is unreachable: {exc}") from exc

    def start(self) -> None:
        pass

    def stop(self, timeout: float | None = None) -> None:
        self.app.close()


# Compare-and-renew and compare-and-delete, atomic in Redis: a holder only touches its own lease.
_RENEW = ("if redis.call('get', KEYS[1]) == ARGV[1] then "
          "return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0")
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


class JobLeases:
    """Which worker runs a job now: one Redis key per job, renewed while it runs, gone when it ends or
    ``ttl_s`` after its holder died."""

    def __init__(self, client: Any, *, ttl_s: float = LEASE_TTL_S, prefix: str = "imprint:lease:") -> None:
        self._redis, self._ttl_ms, self._prefix = client, int(ttl_s * 1000), prefix
        self.ttl_s = ttl_s
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)

    @classmethod
    def from_url(cls, url: str, **kw: Any) -> JobLeases:
        import redis

        return cls(redis.Redis.from_url(url), **kw)

    @contextmanager
    def hold(self, name: str, *, wait_s: float = 0.0) -> Iterator[bool]:
        """Yields True with the lease held for the block, or False when another holder kept it for
        ``wait_s`` (a dead holder's lease expires within ``ttl_s``; a live one renews it)."""
        key, token = self._prefix + name, secrets.token_hex(16)
        deadline = time.monotonic() + wait_s
        while not self._redis.set(key, token, nx=True, px=self._ttl_ms):
            if time.monotonic() >= deadline:
                yield False
                return
            time.sleep(min(0.25, max(0.0, deadline - time.monotonic())))
        done = threading.Event()
        keeper = threading.Thread(target=self._keep, args=(key, token, done), name=f"imprint-lease-{name}",
                                  daemon=True)
        keeper.start()
        try:
            yield True
        finally:
            done.set()
            keeper.join()
            try:
                self._release(keys=[key], args=[token])
            except Exception:  # it expires on its own
                log.warning("could not release lease %s", key, exc_info=True)

    def _keep(self, key: str, token: str, done: threading.Event) -> None:
        while not done.wait(self._ttl_ms / 3000):
            try:
                if not self._renew(keys=[key], args=[token, self._ttl_ms]):
                    log.error("lost lease %s: another worker may start the same job", key)
            except Exception:
                log.warning("could not renew lease %s", key, exc_info=True)

    def claim_once(self, name: str, ttl_s: float) -> bool:
        """True for the first caller within ``ttl_s``: lets one of several starting workers do a chore."""
        return bool(self._redis.set(self._prefix + name, "1", nx=True, px=int(ttl_s * 1000)))

    def close(self) -> None:
        self._redis.close()
