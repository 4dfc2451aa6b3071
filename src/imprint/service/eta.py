"""How long a running job has left, extrapolated from its progress since it started running."""

from __future__ import annotations

from datetime import datetime

from imprint.service.states import RUNNING, Status

# Below this much progress the rate is mostly start-up (loading the model, fetching images): no guess.
MIN_PROGRESS = 0.02


def eta_seconds(status: str, progress: float, started_at: datetime | None,
                now: datetime | None) -> float | None:
    """Seconds left, or None when the job is not running or too young to tell (or no `now` is given);
    0 once finished."""
    if status == Status.FINISHED:
        return 0.0
    if now is None or Status(status) not in RUNNING or started_at is None or progress < MIN_PROGRESS:
        return None
    elapsed = max((now - started_at).total_seconds(), 0.0)
    return round(elapsed * (1.0 - progress) / progress, 1)
