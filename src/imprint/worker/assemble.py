"""What every process that runs or submits jobs builds from Settings: the migrated database, the blob
store and the workers' context. The serving process (imprint.runtime) and `imprint worker` share it."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from imprint.config import Settings
from imprint.ingest import FetchPolicy, parse_networks
from imprint.service import job_events
from imprint.store.blobs import open_blob_store
from imprint.store.db import make_engine, make_session_factory, migrate
from imprint.webhooks.payload import job_object
from imprint.worker.context import JobEngine, WorkerContext
from imprint.worker.engine_runtime import EngineRuntime


def open_database(settings: Settings) -> tuple[Engine, sessionmaker[Session]]:
    """Every session it makes writes the webhook outbox rows of the job events it commits."""
    engine = make_engine(settings.db_url)
    migrate(engine)
    sessions = make_session_factory(engine)
    job_events.install(sessions, job_object)
    return engine, sessions


def build_worker_context(settings: Settings, sessions: sessionmaker[Session], *,
                         engine_runtime: EngineRuntime | None = None) -> WorkerContext:
    """The engine loads lazily, so a process that only serves the API never pays for the model."""
    blobs = open_blob_store(settings.blob_location, cache_dir=settings.blob_cache_dir)
    policy = FetchPolicy(max_bytes=settings.max_image_bytes, max_images=settings.max_images_per_job,
                         read_timeout_s=settings.fetch_timeout_s,
                         allow_networks=parse_networks(settings.allow_fetch_from))
    if engine_runtime is None and settings.mock:
        from imprint.worker.mock_engine import MockEngine

        engine: JobEngine = MockEngine()  # the same two calls, no model
    else:
        engine = engine_runtime or EngineRuntime(
            settings.base_model_source, device=settings.device, captioner=settings.captioner,
            width=settings.image_width, height=settings.image_height)
    return WorkerContext(
        sessions=sessions, blobs=blobs, fetch_policy=policy, work_dir=settings.work_dir,
        engine=engine,
        default_inference_steps=settings.default_inference_steps,
        keep_training_photos=settings.keep_training_photos)
