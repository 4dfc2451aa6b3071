"""Progress reports for long-running engine work, with rates a progress bar can show."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from imprint.engine.errors import Cancelled


@dataclass(frozen=True)
class Progress:
    done: int
    total: int
    stage: str
    steps_per_second: float | None = None
    eta_seconds: float | None = None

    @property
    def fraction(self) -> float:
        if self.total <= 0:
            return 1.0
        return min(1.0, max(0.0, self.done / self.total))


ProgressCallback = Callable[[Progress], None]


class StepClock:
    """Turns "step i of n done" into Progress with a rate and an ETA, and checks for cancellation."""

    def __init__(
        self, stage: str, total: int, callback: ProgressCallback | None, cancel: threading.Event | None = None
    ) -> None:
        self.stage, self.total, self._callback, self._cancel = stage, total, callback, cancel
        self._start = time.perf_counter()

    def check_cancel(self) -> None:
        if self._cancel is not None and self._cancel.is_set():
            raise Cancelled(f"{self.stage} was cancelled")

    def start(self) -> None:
        """Reports 0 of n, so a progress bar appears before the first (slowest) step finishes."""
        self.check_cancel()
        self._start = time.perf_counter()
        if self._callback is not None:
            self._callback(Progress(0, self.total, self.stage))

    def step(self, done: int) -> None:
        if self._callback is not None:
            rate = done / max(time.perf_counter() - self._start, 1e-9)
            eta = (self.total - done) / rate
            self._callback(Progress(done, self.total, self.stage, steps_per_second=rate, eta_seconds=eta))
        self.check_cancel()
