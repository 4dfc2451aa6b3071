"""The log of `imprint serve` and `imprint worker`: imprint's own lines at the chosen level, and the
libraries' chatter (deprecation notices, "newly initialized" tables, loading progress bars, per-request
client logs) kept out unless the level is debug."""

from __future__ import annotations

import logging
import os

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
LEVELS = ("debug", "info", "warning", "error")
# Read by the API worker processes `serve --workers N` spawns, which configure their own logging.
LEVEL_ENV = "IMPRINT_LOG_LEVEL"
# Libraries whose notices at the default level are about their own API or ours, not about the service.
NOISY = ("transformers", "diffusers", "huggingface_hub", "accelerate", "peft", "httpx", "httpcore", "urllib3",
         "filelock", "PIL", "torch", "py.warnings", "alembic", "multipart")
# The libraries' own switches, read when they are imported (and inherited by spawned processes).
_QUIET_ENV = {"TRANSFORMERS_VERBOSITY": "error", "DIFFUSERS_VERBOSITY": "error",
              "HF_HUB_DISABLE_PROGRESS_BARS": "1", "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1"}


def configure_logging(level: str | None = None) -> None:
    """imprint at `level` (default: the inherited IMPRINT_LOG_LEVEL, else info); at debug everything
    is shown, otherwise third parties say only errors."""
    level = level or os.environ.get(LEVEL_ENV) or "info"
    os.environ[LEVEL_ENV] = level
    logging.basicConfig(level=level.upper(), format=FORMAT)
    logging.captureWarnings(True)  # warnings.warn(...) becomes a py.warnings record, filtered below
    if level == "debug":
        return
    for name, value in _QUIET_ENV.items():
        os.environ.setdefault(name, value)
    for name in NOISY:
        logging.getLogger(name).setLevel(logging.ERROR)


def quiet_loaded_libraries() -> None:
    """diffusers' progress bars follow no environment variable: switched off once it is imported
    (the engine calls this when it loads a model), unless the log level is debug."""
    if os.environ.get(LEVEL_ENV, "info") == "debug":
        return
    from diffusers.utils import logging as diffusers_logging

    diffusers_logging.disable_progress_bar()
