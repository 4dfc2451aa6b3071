"""benchmarks/gpu_engine.py runs end to end on tiny shapes on the CPU (its figures mean nothing here)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "gpu_engine.py"


@pytest.mark.slow
def test_gpu_engine_benchmark_smoke_run() -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--tiny", "--family", "sdxl", "--train-steps", "2",
         "--sample-steps", "1", "--personalize-steps", "1"],
        capture_output=True, text=True, timeout=900, check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert "sdxl: 64 px" in out
    for line in ("speed-up", "ours batched / load-unload", "one personalization"):
        assert line in out, out
