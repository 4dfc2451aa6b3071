"""Job queues, chosen by URL: threads of the serving process (default) or Celery through Redis."""

from __future__ import annotations

from imprint.queue.base import LANES, Interrupted, JobQueue, LaneQueue, Runner
from imprint.queue.inprocess import InProcessQueue

__all__ = ["LANES", "InProcessQueue", "Interrupted", "JobQueue", "LaneQueue", "Runner", "open_queue"]

_REDIS_SCHEMES = ("redis://", "rediss://", "redis+socket://")


def open_queue(url: str | None, runner: Runner, *, workers: dict[str, int], niceness: int = 0) -> LaneQueue:
    """None (or ``inprocess:``): lanes of threads here, ``workers`` threads each, at ``niceness``. A
    Redis URL: Celery messages that ``imprint worker`` processes consume; this process runs no job
    itself."""
    if url is None or url in ("inprocess:", "inprocess://"):
        return InProcessQueue(runner, workers=workers, niceness=niceness)
    if url.startswith(_REDIS_SCHEMES):
        from imprint.queue.celery import CeleryQueue, make_celery

        return CeleryQueue(make_celery(url))
    raise ValueError(f"unsupported queue URL {url!r}: use redis://HOST:PORT/DB (Celery) or leave it unset")
