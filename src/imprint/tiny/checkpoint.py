"""Resumable, time-budgeted training runs: atomic checkpoints and a JSON-lines log."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import torch


def save_atomic(state: dict[str, Any], path: Path) -> None:
    """torch.save through a temporary file and rename, so a kill mid-write never leaves a torn
    checkpoint behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_if_present(path: Path) -> dict[str, Any] | None:
    return torch.load(path, map_location="cpu", weights_only=False) if path.exists() else None


class RunLog:
    """Appends one JSON object a line; the log survives restarts alongside the checkpoint."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)

    def write(self, **fields: Any) -> None:
        fields.setdefault("time", round(time.time(), 1))
        with self.path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(fields) + "\n")
        print(json.dumps(fields), flush=True)


class Budget:
    """Wall-clock budget for one invocation of a trainer."""

    def __init__(self, minutes: float) -> None:
        self.deadline = time.monotonic() + minutes * 60

    def spent(self) -> bool:
        return time.monotonic() >= self.deadline
