"""Waiting for a job with a progress bar and ETA on a terminal, plain lines elsewhere; Ctrl-C stops
the waiting only, never the job."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn

FINAL = frozenset({"FINISHED", "TRAINING_TERMINATED", "INFERRING_TERMINATED", "WRONG_IMAGE_URL", "OOM",
                   "TOO_MANY_INFERENCE_REQUESTS"})
# Plain output prints a line when the status changes or progress passes another step of this size.
PLAIN_STEP = 0.1


@dataclass(frozen=True)
class JobState:
    status: str
    progress: float
    failure_reason: str | None
    data: Any = None
    # The server's own estimate, where it gives one (etaSeconds); else the client estimates.
    eta_seconds: float | None = None

    @property
    def final(self) -> bool:
        return self.status in FINAL


class StoppedWaiting(Exception):
    """Ctrl-C while waiting; the job itself goes on."""

    def __init__(self) -> None:
        super().__init__("stopped waiting")


class Eta:
    """Seconds left, from the rate progress has grown at since it was first seen moving."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._start: tuple[float, float] | None = None

    def update(self, progress: float) -> float | None:
        now = self._clock()
        if self._start is None or progress < self._start[1]:
            self._start = (now, progress)
            return None
        t0, p0 = self._start
        if progress <= p0 or progress >= 1.0:
            return None
        return (now - t0) * (1.0 - progress) / (progress - p0)


def format_eta(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = int(round(seconds))
    return f"{seconds // 60}m{seconds % 60:02d}s left" if seconds >= 60 else f"{seconds}s left"


def time_left(state: JobState, eta: Eta) -> float | None:
    local = eta.update(state.progress)
    return state.eta_seconds if state.eta_seconds is not None else local


def wait(poll: Callable[[], JobState], *, label: str, console: Console, interval: float = 0.5) -> JobState:
    """Polls until the job reaches a final status and returns that state."""
    try:
        if console.is_terminal:
            return _with_bar(poll, label, console, interval)
        return _with_lines(poll, label, console, interval)
    except KeyboardInterrupt:
        raise StoppedWaiting() from None


def _with_bar(poll: Callable[[], JobState], label: str, console: Console, interval: float) -> JobState:
    columns = (TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
               TextColumn("{task.fields[status]}"), TextColumn("{task.fields[eta]}"))
    eta = Eta()
    with Progress(*columns, console=console, transient=False) as bar:
        task = bar.add_task(label, total=100, status="", eta="")
        while True:
            state = poll()
            left = time_left(state, eta)
            bar.update(task, completed=round(state.progress * 100, 1), status=state.status,
                       eta="" if state.final else format_eta(left))
            if state.final:
                return state
            time.sleep(interval)


def _with_lines(poll: Callable[[], JobState], label: str, console: Console, interval: float) -> JobState:
    eta, shown = Eta(), None
    while True:
        state = poll()
        left = time_left(state, eta)
        key = (state.status, int(state.progress / PLAIN_STEP + 1e-9))
        if key != shown or state.final:
            shown = key
            extra = format_eta(left) if not state.final else ""
            line = f"{label}: {state.status} {state.progress * 100:.0f}%" + (f" ({extra})" if extra else "")
            console.print(line, highlight=False, markup=False, soft_wrap=True)
        if state.final:
            return state
        time.sleep(interval)
