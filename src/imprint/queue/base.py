"""How the API hands work to workers: a message is a job kind and a row id, nothing more."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

Runner = Callable[[str, int], None]

# Training (and v2 jobs, which train) share one lane so one training runs at a time by default.
LANES: dict[str, str] = {"train": "train", "premodel": "train", "infer": "infer"}


class QueueUnavailable(Exception):
    """The job could not be handed to the queue (its broker is unreachable); nothing will run it."""


class JobQueue(Protocol):
    def enqueue(self, kind: str, job_id: int) -> None:
        """Hands the job over, or raises QueueUnavailable."""
        ...

    def start(self) -> None: ...

    def stop(self, timeout: float | None = None) -> None: ...


class LaneQueue(JobQueue, Protocol):
    """The queue a process is assembled with. ``runs_jobs`` False: other processes (Celery workers) run
    the jobs, so this one neither starts lanes nor resumes unfinished jobs on start."""

    runs_jobs: bool


class Interrupted(Exception):
    """Raised by a runner when shutdown stopped the job before it ended: the queue hands it out again."""
