"""The ETA of a running job extrapolates its progress over the time it has run."""

from __future__ import annotations

from datetime import datetime, timedelta

from imprint.service.eta import eta_seconds

T0 = datetime(2026, 1, 1)


def test_eta_extrapolates_progress_since_the_start() -> None:
    assert eta_seconds("TRAINING", 0.25, T0, T0 + timedelta(seconds=30)) == 90.0
    assert eta_seconds("INFERRING", 0.5, T0, T0 + timedelta(seconds=10)) == 10.0


def test_no_eta_before_the_job_runs_or_while_it_has_barely_started() -> None:
    assert eta_seconds("WAIT_SCHEDULE", 0.0, None, T0) is None
    assert eta_seconds("TRAINING", 0.01, T0, T0 + timedelta(seconds=5)) is None
    assert eta_seconds("TRAINING_TERMINATED", 0.4, T0, T0) is None
    assert eta_seconds("FINISHED", 1.0, T0, T0) == 0.0


def test_without_a_clock_only_a_finished_job_has_an_eta() -> None:
    assert eta_seconds("FINISHED", 1.0, T0, None) == 0.0
    assert eta_seconds("TRAINING", 0.5, T0, None) is None
