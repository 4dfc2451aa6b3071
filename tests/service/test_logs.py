"""At the default level the log has imprint's lines and not the libraries' notices; debug shows all."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[2] / "src")
SCRIPT = """
import logging, sys, warnings
from imprint.logs import configure_logging
configure_logging(sys.argv[1])
logging.getLogger("imprint.worker.engine_runtime").info("model m training: step 10/600, 2.00 steps/s")
logging.getLogger("transformers.modeling_utils").warning("Some weights were newly initialized")
logging.getLogger("alembic.runtime.migration").info("Context impl SQLiteImpl.")
warnings.warn("this argument is deprecated", FutureWarning)
"""


def _log(level: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMPRINT_")} | {"PYTHONPATH": SRC}
    return subprocess.run([sys.executable, "-c", SCRIPT, level], env=env, capture_output=True, text=True,
                          check=True).stderr


def test_default_level_keeps_imprint_and_drops_library_notices() -> None:
    log = _log("info")
    assert "steps/s" in log
    assert "newly initialized" not in log and "SQLiteImpl" not in log and "deprecated" not in log


def test_debug_shows_everything() -> None:
    log = _log("debug")
    assert "steps/s" in log and "newly initialized" in log and "SQLiteImpl" in log and "deprecated" in log
