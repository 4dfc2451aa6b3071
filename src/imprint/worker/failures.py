"""Turns what the engine raised into the job status and the reason a caller reads."""

from __future__ import annotations

import logging
from collections.abc import Callable

from imprint.service.states import Status

log = logging.getLogger(__name__)


class Failure(Exception):
    """`status` None means the work was interrupted by shutdown, not failed."""

    def __init__(self, status: Status | None, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


def classify(exc: BaseException, *, stage: str) -> Failure:
    from imprint.engine import BadInput, Cancelled, UnusableImages

    terminated = Status.TRAINING_TERMINATED if stage == "training" else Status.INFERRING_TERMINATED
    if isinstance(exc, Cancelled):
        return Failure(None, "interrupted by shutdown")
    if isinstance(exc, UnusableImages):
        return Failure(Status.WRONG_IMAGE_URL, f"training images could not be used: {exc}")
    if isinstance(exc, BadInput):
        return Failure(terminated, f"{stage} refused the input: {exc}")
    if isinstance(exc, MemoryError) or type(exc).__name__ == "OutOfMemoryError":
        return Failure(Status.OOM, f"out of memory during {stage}")
    return Failure(terminated, f"{stage} failed: {type(exc).__name__}: {exc}")


# Stored when neither the reason nor its escaped form could be: the job still gets its final status.
UNRECORDABLE_REASON = "the job failed; its reason could not be recorded (see the worker's log)"


def record_failure(record: Callable[[str], None], *, job_id: int, reason: str) -> None:
    """Calls ``record`` (one transaction that sets the final status with ``reason``) until it goes
    through: with the reason, then with it escaped to ASCII, then with a fixed one. A reason the
    database cannot store (a lone surrogate from a hostile URL) must not leave the job running."""
    escaped = reason.encode("ascii", "backslashreplace").decode("ascii")
    for attempt in dict.fromkeys([reason, escaped, UNRECORDABLE_REASON]):
        try:
            record(attempt)
            return
        except Exception:
            log.exception("job %s: could not record its failure with reason %r", job_id, attempt)
    raise RuntimeError(f"job {job_id}: no failure reason could be recorded")
