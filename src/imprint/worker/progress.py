"""Persists engine progress, throttled: a row write at most every `interval` seconds."""

from __future__ import annotations

import time

from imprint.service import runs
from imprint.worker.context import WorkerContext


class ProgressWriter:
    def __init__(self, ctx: WorkerContext, *, kind: str, job_id: int, start: float = 0.0, span: float = 1.0,
                 interval: float = 0.5) -> None:
        self._ctx, self._kind, self._job_id = ctx, kind, job_id
        self._start, self._span, self._interval = start, span, interval
        self._last_write = 0.0
        self._last_value = -1.0

    def __call__(self, fraction: float) -> None:
        value = self._start + self._span * fraction
        now = time.monotonic()
        # Never backwards: a caller polling sees a bar that only grows.
        if value <= self._last_value or (value < 1.0 and now - self._last_write < self._interval):
            return
        self._last_write, self._last_value = now, value
        with self._ctx.sessions.begin() as session:
            runs.record_progress(session, kind=self._kind, job_id=self._job_id, fraction=value,
                                 now=self._ctx.clock())
