"""Runtime settings of one imprint process; every backend is chosen from here by URL or path."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

DEFAULT_DATA_DIR = "./imprint-data"


def default_data_dir() -> Path:
    return Path(os.environ.get("IMPRINT_DATA_DIR", DEFAULT_DATA_DIR))


def bundled_base_model() -> Path:
    """Where the package ships its own small base model (it may be missing in a source checkout)."""
    return Path(str(resources.files("imprint") / "models" / "imprint-tiny"))


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    base_model: str | None = None
    device: str = "cpu"
    database_url: str | None = None
    train_workers: int = 1
    inference_workers: int = 1
    # Jobs admitted but not finished (waiting or running); beyond it a new job is refused.
    inference_queue_size: int = 16
    # v2 requests name no subject; used when the prompt contains no known class word.
    v2_object_type: str = "girl"
    default_train_steps: int = 100
    max_train_steps: int = 5000
    default_inference_steps: int = 25
    max_images_per_job: int = 20
    max_image_bytes: int = 10 * 1024 * 1024
    fetch_timeout_s: float = 20.0
    key_cache_ttl_s: float = 2.0
    asset_cache_bytes: int = 64 * 1024 * 1024
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'imprint.sqlite3').resolve()}"

    @property
    def blob_root(self) -> Path:
        return self.data_dir / "blobs"

    @property
    def work_dir(self) -> Path:
        return self.data_dir / "tmp"

    @property
    def base_model_source(self) -> str:
        return self.base_model or str(bundled_base_model())
