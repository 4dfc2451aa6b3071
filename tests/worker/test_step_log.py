"""Training reports its steps at INFO with the rate and the time left, throttled, and always its last."""

from __future__ import annotations

import logging

import pytest

from imprint.engine.progress import Progress
from imprint.worker.engine_runtime import TRAIN_STAGES, _staged


def test_training_steps_are_logged_with_steps_per_second(caplog: pytest.LogCaptureFixture) -> None:
    fractions: list[float] = []
    report = _staged(fractions.append, TRAIN_STAGES, "model dog_1 ")
    with caplog.at_level(logging.INFO, logger="imprint.worker.engine_runtime"):
        report(Progress(0, 600, "training"))  # the start: no rate yet, nothing logged
        report(Progress(1, 600, "training", steps_per_second=2.5, eta_seconds=239.6))
        report(Progress(2, 600, "training", steps_per_second=2.5, eta_seconds=239.2))  # within 10 s
        report(Progress(600, 600, "training", steps_per_second=2.4, eta_seconds=0.0))
    assert [r.getMessage() for r in caplog.records] == [
        "model dog_1 training: step 1/600, 2.50 steps/s, about 240 s left",
        "model dog_1 training: step 600/600, 2.40 steps/s, about 0 s left",
    ]
    assert fractions[0] == pytest.approx(0.05) and fractions[-1] == pytest.approx(1.0)
