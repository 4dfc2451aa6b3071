"""Runtime settings of one imprint process; every backend is chosen from here by URL or path."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from imprint.models import bundled_model

DEFAULT_DATA_DIR = "./imprint-data"
# The embedded default's database, inside the data directory.
DATABASE_FILE = "imprint.sqlite3"


def default_data_dir() -> Path:
    return Path(os.environ.get("IMPRINT_DATA_DIR", DEFAULT_DATA_DIR))


def default_workers() -> int:
    """One API worker per CPU this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def bundled_base_model() -> Path:
    """Where the package ships its own small base model, imprint-tiny."""
    return bundled_model()


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    base_model: str | None = None
    device: str = "cpu"
    # Default size of generated images; None: the base model's native size (engine.BaseModel).
    image_width: int | None = None
    image_height: int | None = None
    database_url: str | None = None
    train_workers: int = 1
    inference_workers: int = 1
    # The nice value the job threads of `serve` raise themselves to (0: the API's own priority). On a
    # machine whose cores a training fills, the API's requests then get the CPU first; an idle API
    # takes nothing from the job (docs/performance.md).
    job_niceness: int = 10
    # Jobs admitted but not finished (waiting or running); beyond it a new job is refused.
    inference_queue_size: int = 16
    # v2 requests name no subject; used when the prompt contains no known class word.
    v2_object_type: str = "girl"
    # The engine's default for imprint-tiny with captioned pictures (8 samples a step, about 50 s on two
    # CPU cores); SD-class models (4 samples a step) want about 500: ask with trainSteps.
    default_train_steps: int = 300
    # Who captions training pictures, surroundings and subject (engine_runtime.captioner_folder):
    # "auto" (the bundled judge, for the bundled model only), "none", or a judge folder.
    captioner: str = "auto"
    max_train_steps: int = 5000
    default_inference_steps: int = 25
    max_images_per_job: int = 50
    max_image_bytes: int = 20 * 1024 * 1024
    fetch_timeout_s: float = 20.0
    # CIDRs image URLs may point into although they are not public (an on-premise image store);
    # everything else that is not a public address is refused.
    allow_fetch_from: tuple[str, ...] = ()
    key_cache_ttl_s: float = 2.0
    asset_cache_bytes: int = 64 * 1024 * 1024
    # How long a cached image is served without asking the database whether it was deleted meanwhile
    # (by another API process: this one drops it from its cache at once).
    asset_recheck_s: float = 2.0
    # Retention (docs/security.md): models and inference jobs older than this many days are deleted
    # with everything made from them, swept every `retention_sweep_s`; None keeps them until deleted.
    retention_days: float | None = None
    retention_sweep_s: float = 3600.0
    # Training photos are stored only while their model trains (a restart resumes from them), then
    # deleted, unless this is set: then they stay until the model is deleted.
    keep_training_photos: bool = False
    # Security limits and RAM (docs/security.md). The region only names resources in RAM ARNs.
    region: str = "cn-shanghai"
    # Per-AccessKey token bucket: sustained requests per second and burst; a rate of 0 disables it.
    rate_limit_per_s: float = 50.0
    rate_limit_burst: int = 100
    max_body_bytes: int = 1024 * 1024
    max_prompt_chars: int = 2000
    # Unfinished jobs (trainings and inference jobs) one account may have; beyond it a new job ends
    # as TOO_MANY_INFERENCE_REQUESTS, so one tenant cannot take the whole shared queue.
    max_active_jobs_per_account: int = 8
    # Peers (IPs or CIDRs) whose X-Forwarded-For/-Proto are believed; empty: only the socket counts.
    trusted_proxies: tuple[str, ...] = ()
    # Where signature nonces are remembered (imprint.store.nonces); None: a SQLite file in the
    # data directory, which every worker process shares and which outlives restarts.
    nonce_store_url: str | None = None
    # Scale-out backends (docs in README "Scaled-out configuration"); None keeps the embedded default:
    # blobs under the data directory, jobs run by threads of the serving process.
    blob_url: str | None = None  # s3://bucket/prefix
    queue_url: str | None = None  # redis://host:port/db: Celery workers (`imprint worker`) run the jobs
    # Webhook deliveries: first retry after this many seconds, doubling up to the cap; an event is
    # retried until it is at least `webhook_retry_for_s` old (24 hours).
    webhook_retry_base_s: float = 5.0
    webhook_retry_cap_s: float = 3600.0
    webhook_retry_for_s: float = 24 * 3600.0
    webhook_poll_s: float = 1.0
    # `imprint serve --mock`: no model; placeholder training and images, every response marked.
    mock: bool = False
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / DATABASE_FILE).resolve()}"

    @property
    def nonce_url(self) -> str:
        return self.nonce_store_url or f"sqlite:///{(self.data_dir / 'nonces.sqlite3').resolve()}"

    @property
    def blob_root(self) -> Path:
        return self.data_dir / "blobs"

    @property
    def blob_location(self) -> str:
        return self.blob_url or str(self.blob_root)

    @property
    def blob_cache_dir(self) -> Path:
        """Local copies of remote blobs that the engine reads as files (adapters)."""
        return self.data_dir / "blob-cache"

    @property
    def work_dir(self) -> Path:
        return self.data_dir / "tmp"

    @property
    def base_model_source(self) -> str:
        return self.base_model or str(bundled_base_model())
