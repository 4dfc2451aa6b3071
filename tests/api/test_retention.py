"""Retention end to end: `--retention-days` deletes what is older, swept in the background; the test
moves the server's clock (an injected clock) instead of waiting for days."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alibabacloud_tea_openapi.exceptions import ClientException
from apikit import running, settings_for, train_model, wait_for
from generic import call_new
from typer.testing import CliRunner

from imprint.cli.main import app


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def test_old_models_and_jobs_are_swept(tmp_path: Path, base_model: Path, image_urls: list[str]) -> None:
    settings = settings_for(tmp_path, base_model, retention_days=30, retention_sweep_s=0.1)
    with running(settings) as server:
        sweeper = server.runtime.sweeper
        assert sweeper is not None
        sweeper.clock = lambda: _now() - timedelta(days=1)  # the sweeper's clock, not the request's
        old = train_model(server.new_client(), image_urls, steps=2)
        old_job = call_new(
            server,
            "Personalizedtxt2imgAddInferenceJob",
            "addInferenceJob",
            body={"modelId": old, "prompt": "a <special-token> dog"},
        )["body"]["data"]
        wait_for(lambda: _job(server, old_job["id"]), lambda d: d["jobStatus"])
        between = _now()
        new = train_model(server.new_client(), image_urls, steps=2)
        # 30 days after `between`: the first model and its job are older than 30 days, the second is not.
        sweeper.clock = lambda: between + timedelta(days=30)
        deadline = time.monotonic() + 30
        while _exists(server, old):
            assert time.monotonic() < deadline, "the old model was never swept"
            time.sleep(0.1)
        with pytest.raises(ClientException) as err:
            _job(server, old_job["id"])
        assert err.value.status_code == 404
        assert _exists(server, new)
        root = settings.blob_root
        assert not [
            p for p in root.rglob("*") if p.is_file() and (old in str(p) or old_job["promptId"] in str(p))
        ]
        assert [p for p in root.rglob("*") if p.is_file() and new in str(p)]


def test_serve_takes_the_retention_flags(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # --workers 1: with several, serve switches prometheus_client to multiprocess mode for this process.
    seen: dict[str, Any] = {}

    def build(settings: Any) -> Any:
        seen["settings"] = settings
        raise SystemExit(0)

    monkeypatch.setattr("imprint.runtime.build_runtime", build)
    result = CliRunner().invoke(
        app,
        [
            "serve",
            "--workers",
            "1",
            "--data-dir",
            str(tmp_path),
            "--retention-days",
            "7.5",
            "--keep-training-photos",
        ],
    )
    assert result.exit_code == 0, result.output
    assert seen["settings"].retention_days == 7.5 and seen["settings"].keep_training_photos is True
    refused = CliRunner().invoke(
        app, ["serve", "--workers", "1", "--data-dir", str(tmp_path), "--retention-days", "0"]
    )
    assert refused.exit_code == 2 and "more than 0 days" in refused.output
    CliRunner().invoke(app, ["serve", "--workers", "1", "--data-dir", str(tmp_path)])
    assert seen["settings"].retention_days is None and seen["settings"].keep_training_photos is False


def _job(server: Any, job_id: str) -> dict[str, Any]:
    return call_new(
        server,
        "Personalizedtxt2imgQueryInferenceJobInfo",
        "queryInferenceJobInfo",
        method="GET",
        query={"inferenceJobId": job_id},
    )["body"]["data"]


def _exists(server: Any, model_id: str) -> bool:
    try:
        call_new(
            server,
            "Personalizedtxt2imgQueryModelTrainStatus",
            "queryModelTrainStatus",
            method="GET",
            query={"modelId": model_id},
        )
    except ClientException as exc:
        assert exc.code == "B_MODEL_TRAIN_JOB_NOT_EXIST"
        return False
    return True
