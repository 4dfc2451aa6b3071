"""What the engine benchmarks share: the base model to measure on, subject photos, memory readings."""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
from pathlib import Path

import torch
from PIL import Image

from imprint.tiny.architecture import TinyShape
from imprint.tiny.pipeline_folder import save_random_pipeline
from imprint.world.render import render
from imprint.world.subject import Subject


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--base-model",
        type=Path,
        default=None,
        help="diffusers pipeline folder (default: a random-weight imprint-tiny-shaped one)",
    )
    parser.add_argument("--quick", action="store_true", help="fewer repetitions, for a smoke run")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")


def base_model_folder(given: Path | None) -> Path:
    """The given folder, or a random pipeline of imprint-tiny's default shape built on the fly: the same
    layer sizes cost the same time whatever the weights, and the weights do not matter for speed."""
    if given is not None:
        return given
    folder = Path(tempfile.mkdtemp(prefix="imprint-bench-")) / "random-imprint-tiny"
    return save_random_pipeline(folder, shape=TinyShape())


def subject_photos(count: int = 5) -> list[Image.Image]:
    subject = Subject("dog", "brown", "spotted", "scarf", "red")
    scenes = ["beach", "snow", "forest", "city", "room"]
    return [render(subject, scenes[i % len(scenes)], seed=i) for i in range(count)]


def rss_mb() -> float:
    """Resident memory now (not the peak), from /proc."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def median(values: list[float]) -> float:
    return statistics.median(values)


def set_threads(threads: int) -> None:
    torch.set_num_threads(threads)
