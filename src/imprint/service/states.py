"""The job state machine as data: which status may follow which, and the one function applying it."""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol

from imprint.service.errors import IllegalTransition


class Status(StrEnum):
    SUBMITTED = "SUBMITTED"
    WAIT_SCHEDULE = "WAIT_SCHEDULE"
    TRAINING = "TRAINING"
    INFERRING = "INFERRING"
    FINISHED = "FINISHED"
    TRAINING_TERMINATED = "TRAINING_TERMINATED"
    INFERRING_TERMINATED = "INFERRING_TERMINATED"
    WRONG_IMAGE_URL = "WRONG_IMAGE_URL"
    OOM = "OOM"
    TOO_MANY_INFERENCE_REQUESTS = "TOO_MANY_INFERENCE_REQUESTS"


S = Status
_TRAIN_FAIL = {S.TRAINING_TERMINATED, S.WRONG_IMAGE_URL, S.OOM}
_INFER_FAIL = {S.INFERRING_TERMINATED, S.OOM}

# Running -> WAIT_SCHEDULE is the restart path: an interrupted job goes back to the queue.
TRAIN_TRANSITIONS: dict[Status, frozenset[Status]] = {
    S.SUBMITTED: frozenset({S.WAIT_SCHEDULE, S.TRAINING, *_TRAIN_FAIL}),
    S.WAIT_SCHEDULE: frozenset({S.TRAINING, *_TRAIN_FAIL}),
    S.TRAINING: frozenset({S.FINISHED, S.WAIT_SCHEDULE, *_TRAIN_FAIL}),
}

# A v2 job trains its own adapter before generating, so its reference images can be unusable too.
INFERENCE_TRANSITIONS: dict[Status, frozenset[Status]] = {
    S.SUBMITTED: frozenset({S.WAIT_SCHEDULE, S.INFERRING, S.WRONG_IMAGE_URL, *_INFER_FAIL}),
    S.WAIT_SCHEDULE: frozenset({S.INFERRING, S.WRONG_IMAGE_URL, *_INFER_FAIL}),
    S.INFERRING: frozenset({S.FINISHED, S.WAIT_SCHEDULE, S.WRONG_IMAGE_URL, *_INFER_FAIL}),
}

ACTIVE: frozenset[Status] = frozenset({S.SUBMITTED, S.WAIT_SCHEDULE, S.TRAINING, S.INFERRING})
RUNNING: frozenset[Status] = frozenset({S.TRAINING, S.INFERRING})


class HasStatus(Protocol):
    status: str
    failure_reason: str | None


def is_terminal(status: str) -> bool:
    return Status(status) not in ACTIVE


def apply(row: HasStatus, to: Status, table: dict[Status, frozenset[Status]], *,
          reason: str | None = None) -> None:
    current = Status(row.status)
    if to == current:
        return
    if to not in table.get(current, frozenset()):
        raise IllegalTransition(f"job cannot move from {current} to {to}")
    row.status = to.value
    if reason is not None:
        row.failure_reason = reason
