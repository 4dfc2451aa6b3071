"""The log of `imprint serve` and `imprint worker`: imprint's own lines at the chosen level, and the
libraries' chatter (deprecation notices, "newly initialized" tables, per-request client logs) kept out
unless the level is debug."""

from __future__ import annotations

import logging

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Libraries whose warnings at the default level are about their own API or ours, not about the service.
NOISY = ("transformers", "diffusers", "huggingface_hub", "accelerate", "peft", "httpx", "httpcore", "urllib3",
         "filelock", "PIL", "torch", "py.warnings", "alembic", "multipart")
LEVELS = ("debug", "info", "warning", "error")


def configure_logging(level: str = "info") -> None:
    """imprint at `level`; at debug everything is shown, otherwise third parties only say errors."""
    logging.basicConfig(level=level.upper(), format=FORMAT)
    logging.captureWarnings(True)  # warnings.warn(...) becomes a py.warnings log record, filtered below
    if level != "debug":
        for name in NOISY:
            logging.getLogger(name).setLevel(logging.ERROR)
        _quiet_library_loggers()


def _quiet_library_loggers() -> None:
    # transformers and diffusers configure their own loggers on import, overriding a level set earlier;
    # their public verbosity switches keep them at errors.
    try:
        from transformers.utils import logging as transformers_logging

        transformers_logging.set_verbosity_error()
    except ImportError:
        pass
    try:
        from diffusers.utils import logging as diffusers_logging

        diffusers_logging.set_verbosity_error()
    except ImportError:
        pass
