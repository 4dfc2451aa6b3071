"""Turns what the engine raised into the job status and the reason a caller reads."""

from __future__ import annotations

from imprint.service.states import Status


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
