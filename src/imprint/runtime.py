"""Assembles one imprint process from Settings: database (migrated), blobs, queue, workers, API."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from imprint.api.admin.token import AdminToken
from imprint.api.app import ImprintApp, create_app
from imprint.api.ratelimit import make_limiter
from imprint.api.services import Services
from imprint.auth import TrustedProxies
from imprint.config import Settings
from imprint.ingest import FetchPolicy, parse_networks
from imprint.queue import LaneQueue, open_queue
from imprint.service import keys, runs
from imprint.service.assets import AssetCache
from imprint.service.domain import NewKey
from imprint.service.retention import Sweeper
from imprint.store.keys import SqlKeyLookup
from imprint.store.nonces import open_nonce_store
from imprint.store.policies import SqlPolicySource
from imprint.store.sealing import prepare_secrets
from imprint.store.secret_box import load_server_key
from imprint.tokens.vocabulary import LazyVocabulary
from imprint.webhooks.delivery import DeliveryLoop, RetryPolicy
from imprint.worker import scratch
from imprint.worker.assemble import build_worker_context, open_database
from imprint.worker.context import WorkerContext
from imprint.worker.dispatch import Dispatcher
from imprint.worker.engine_runtime import EngineRuntime
from imprint.world.vocabulary import SUBJECT_TYPES

log = logging.getLogger(__name__)

# Class words a v2 prompt may name; the bundled model knows the procedural world's subjects.
KNOWN_OBJECT_TYPES: tuple[str, ...] = (*SUBJECT_TYPES, "person", "child", "baby", "puppy", "kitten", "bear")


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    services: Services
    queue: LaneQueue
    worker: WorkerContext
    app: ImprintApp
    first_key: NewKey | None
    deliveries: DeliveryLoop
    sweeper: Sweeper | None = None

    def start(self) -> None:
        """Starts the webhook deliveries, the retention sweeper and the workers, and re-enqueues every
        job a previous process left unfinished."""
        self.deliveries.start()  # with Celery too: workers only write the outbox
        if self.sweeper is not None:
            self.sweeper.start()
        if not self.queue.runs_jobs:  # Celery workers run the jobs and resume them when they start
            return
        scratch.sweep(self.worker.work_dir)
        with self.services.sessions.begin() as session:
            pending = runs.requeue_interrupted(session, now=utcnow())
        self.queue.start()
        for kind, job_id in pending:
            self.queue.enqueue(kind, job_id)
        if pending:
            log.info("resumed %d unfinished job(s)", len(pending))

    def stop(self, timeout: float | None = 30.0) -> None:
        if self.sweeper is not None:
            self.sweeper.stop(timeout)
        self.worker.stopping.set()
        self.queue.stop(timeout)
        self.deliveries.stop(timeout)
        self.engine.dispose()
        self.services.nonces.close()  # the shared stores hold a file or socket


def build_runtime(settings: Settings, *, engine_runtime: EngineRuntime | None = None) -> Runtime:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db, sessions = open_database(settings)
    box = load_server_key(settings.data_dir)
    with sessions.begin() as session:
        prepare_secrets(session, box)
        first_key = keys.bootstrap(session, box=box, now=utcnow())
    worker = build_worker_context(settings, sessions, engine_runtime=engine_runtime)
    blobs = worker.blobs
    queue = open_queue(settings.queue_url, Dispatcher(worker), workers={"train": settings.train_workers,
                                                                        "infer": settings.inference_workers},
                       niceness=settings.job_niceness)
    services = Services(
        settings=settings, sessions=sessions, blobs=blobs, queue=queue,
        keys=SqlKeyLookup(sessions, box, ttl=settings.key_cache_ttl_s),
        nonces=open_nonce_store(settings.nonce_url),
        assets=AssetCache(settings.asset_cache_bytes, recheck_s=settings.asset_recheck_s),
        known_object_types=KNOWN_OBJECT_TYPES, clock=utcnow,
        policies=SqlPolicySource(sessions, ttl=settings.key_cache_ttl_s),
        limiter=make_limiter(settings.rate_limit_per_s, settings.rate_limit_burst),
        trusted_proxies=TrustedProxies(settings.trusted_proxies), box=box,
        admin_token=AdminToken(settings.data_dir),
        vocabulary=LazyVocabulary(settings.base_model_source).get)
    deliveries = DeliveryLoop(
        sessions, box, webhook_policy(settings), utcnow, poll_s=settings.webhook_poll_s,
        retry=RetryPolicy(settings.webhook_retry_base_s, settings.webhook_retry_cap_s,
                          timedelta(seconds=settings.webhook_retry_for_s)))
    sweeper = None
    if settings.retention_days is not None:
        sweeper = Sweeper(sessions, blobs, max_age=timedelta(days=settings.retention_days),
                          interval_s=settings.retention_sweep_s, clock=lambda: services.clock(),
                          on_removed=lambda removal: services.assets.discard(removal.asset_keys))
    return Runtime(settings, db, services, queue, worker, create_app(services), first_key, deliveries,
                   sweeper)


def webhook_policy(settings: Settings) -> FetchPolicy:
    """Where deliveries may go: where training images may come from (`--allow-fetch-from` included),
    with a receiver's answer bounded to 15 s."""
    return FetchPolicy(connect_timeout_s=5.0, read_timeout_s=10.0, total_timeout_s=15.0,
                       allow_networks=parse_networks(settings.allow_fetch_from))
