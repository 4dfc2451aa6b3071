"""`imprint worker`: a Celery worker process that runs imprint's jobs from Redis.

The jobs run through the same Dispatcher as the in-process lanes. What several worker processes on
several hosts need on top:

* a lease per job (imprint.queue.celery.JobLeases), so a second delivery of a message never runs a job
  that another worker is running;
* on start, every unfinished job is enqueued again, as `imprint serve` does in the embedded default;
  a job that still has its message, or that another worker runs, is then skipped on delivery. A
  delivery that finds a job's lease taken waits until that lease would have expired (LEASE_TTL_S): a
  killed worker's lease runs out within seconds and the job is taken over, while a live holder
  renews its lease and the delivery is dropped;
* on warm shutdown (SIGTERM, or the first Ctrl-C) the running job stops at the next engine step, goes
  back to WAIT_SCHEDULE, and its message back to Redis for the next worker.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from imprint.config import Settings
from imprint.queue.base import Interrupted, JobQueue, Runner
from imprint.queue.celery import CeleryQueue, ImprintCelery, JobLeases, make_celery
from imprint.service import runs
from imprint.worker import scratch
from imprint.worker.assemble import build_worker_context, open_database
from imprint.worker.cache_prune import CachePruner
from imprint.worker.context import WorkerContext
from imprint.worker.dispatch import Dispatcher
from imprint.worker.engine_runtime import EngineRuntime

log = logging.getLogger(__name__)

# Workers started together may all try to resume; one sweep in this window is enough. Short: a
# replacement for a killed worker starts later and must sweep again.
RESUME_WINDOW_S = 1.0


def lease_name(kind: str, job_id: int) -> str:
    # A v2 job (premodel) is an inference row like a v1 one; train rows are numbered apart.
    return f"{'train' if kind == runs.TRAIN else 'infer'}:{job_id}"


class LeasedRunner:
    """The runner of a Celery worker: a delivery runs its job only while holding the job's lease."""

    def __init__(self, dispatch: Runner, ctx: WorkerContext, leases: JobLeases) -> None:
        self._dispatch, self._ctx, self._leases = dispatch, ctx, leases

    def __call__(self, kind: str, job_id: int) -> None:
        # A lease still held may be a killed worker's: wait until it would have expired, so that the
        # delivery that follows a crash runs the job instead of being dropped.
        with self._leases.hold(lease_name(kind, job_id), wait_s=self._leases.ttl_s + 1.0) as held:
            if not held:
                log.info("%s job %s is running on another worker; dropped a second delivery", kind, job_id)
                return
            self._dispatch(kind, job_id)
            ctx = self._ctx
            if not ctx.stopping.is_set():
                return
            with ctx.sessions.begin() as session:
                unfinished = runs.release_interrupted(session, kind=kind, job_id=job_id, now=ctx.clock())
        if unfinished:
            raise Interrupted(f"{kind} job {job_id}")


def resume_unfinished(sessions: sessionmaker[Session], queue: JobQueue, leases: JobLeases) -> int:
    """Enqueues every unfinished job again; statuses stay, since other workers may be running some."""
    if not leases.claim_once("resume", RESUME_WINDOW_S):
        return 0
    with sessions.begin() as session:
        pending = runs.unfinished_jobs(session)
    for kind, job_id in pending:
        queue.enqueue(kind, job_id)
    return len(pending)


@dataclass
class CeleryWorker:
    settings: Settings
    db: Engine
    ctx: WorkerContext
    app: ImprintCelery
    leases: JobLeases

    def resume(self) -> int:
        # A sender app of its own: publishing through the worker's app before it starts consuming left
        # that app's consumer receiving nothing.
        sender = CeleryQueue(make_celery(self.app.conf.broker_url))
        try:
            resumed = resume_unfinished(self.ctx.sessions, sender, self.leases)
        except Exception:  # the jobs wait for the next worker start; this one still serves its queues
            log.exception("could not resume unfinished jobs")
            return 0
        finally:
            sender.stop()
        if resumed:
            log.info("re-enqueued %d unfinished job(s)", resumed)
        return resumed

    def run(self, *, queues: Sequence[str], pool: str = "solo", concurrency: int = 1,
            loglevel: str = "INFO") -> int:
        """Consumes ``queues`` until shutdown, resuming unfinished jobs on the way; returns the exit code."""
        from celery.signals import worker_shutting_down

        def stopping(**_: Any) -> None:
            self.ctx.stopping.set()

        scratch.sweep(self.ctx.work_dir)
        self.resume()  # before consuming, from this thread: the app is not yet shared with the worker's
        pruner = CachePruner(self.settings.blob_cache_dir, self.ctx.sessions)
        pruner.start()
        worker_shutting_down.connect(stopping, weak=False)
        try:
            code = self.app.worker_main([
                "worker", f"--queues={','.join(queues)}", f"--pool={pool}", f"--concurrency={concurrency}",
                f"--loglevel={loglevel}", f"--hostname=imprint-{os.getpid()}@%h",
                # Peer-to-peer chatter serves features imprint does not use (revokes, events).
                "--without-gossip", "--without-mingle", "--without-heartbeat"])
        finally:
            pruner.stop()
            worker_shutting_down.disconnect(stopping)
            self.close()
        return int(code or 0)

    def close(self) -> None:
        self.ctx.stopping.set()
        self.app.close()
        self.leases.close()
        self.db.dispose()


def build_worker(settings: Settings, *, engine_runtime: EngineRuntime | None = None) -> CeleryWorker:
    if not settings.queue_url:
        raise ValueError("a worker needs the queue URL (redis://HOST:PORT/DB) that the API processes use")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db, sessions = open_database(settings)
    ctx = build_worker_context(settings, sessions, engine_runtime=engine_runtime)
    leases = JobLeases.from_url(settings.queue_url)
    app = make_celery(settings.queue_url, runner=LeasedRunner(Dispatcher(ctx), ctx, leases))
    return CeleryWorker(settings, db, ctx, app, leases)
