"""Real progress, restart recovery, and the CLI's key management."""

from __future__ import annotations

import json
import time
from pathlib import Path

from alibabacloud_aicontent20240611 import models as m
from apikit import ImageServer, running, settings_for, wait_for
from typer.testing import CliRunner

from imprint.cli.main import app


def _status(client, model_id: str):  # type: ignore[no-untyped-def]
    return client.personalizedtxt_2img_query_model_train_job_list().body.data, model_id


def _observe(client, model_id: str) -> tuple[str, float]:  # type: ignore[no-untyped-def]
    jobs = client.personalizedtxt_2img_query_model_train_job_list().body.data
    job = [j for j in jobs if j.model_id == model_id][0]
    return job.job_status, job.job_train_progress


def test_progress_is_real_and_training_survives_restart(
    tmp_path: Path, base_model: Path, image_urls: list[str]
) -> None:
    settings = settings_for(tmp_path / "data", base_model)
    with running(settings) as first:
        key = (first.access_key_id, first.secret)
        client = first.new_client()
        job = client.personalizedtxt_2img_add_model_train_job(
            m.Personalizedtxt2imgAddModelTrainJobRequest(
                name="slow", object_type="dog", image_url=image_urls, train_steps=60
            )
        ).body.data
        assert job.job_status == "SUBMITTED" and job.job_train_progress == 0.0
        seen: list[tuple[str, float]] = []
        deadline = time.monotonic() + 120
        while not any(s == "TRAINING" and 0 < p < 1 for s, p in seen):
            assert time.monotonic() < deadline, seen
            seen.append(_observe(client, job.model_id))
            time.sleep(0.1)
    # Stopped mid-training: the next start must resume the job, not leave it TRAINING.
    with running(settings, first_key=key) as second:
        client = second.new_client()
        assert _observe(client, job.model_id)[0] in {"WAIT_SCHEDULE", "TRAINING"}
        final = wait_for(lambda: _observe(client, job.model_id), lambda o: o[0])
        assert final == ("FINISHED", 1.0)
        progress = [p for _, p in seen]
        assert progress == sorted(progress)


def test_keys_cli(tmp_path: Path) -> None:
    runner = CliRunner()
    data = ["--data-dir", str(tmp_path / "d")]
    assert runner.invoke(app, ["init", *data]).exit_code == 0  # management commands create no database
    created = json.loads(runner.invoke(app, ["keys", "create", *data, "--json"]).stdout)
    assert created["accessKeyId"].startswith("LTAI") and len(created["accessKeySecret"]) == 30
    listed = json.loads(runner.invoke(app, ["keys", "list", *data, "--json"]).stdout)
    assert [k["accessKeyId"] for k in listed] == [created["accessKeyId"]] and listed[0]["active"]
    assert "accessKeySecret" not in listed[0]
    assert runner.invoke(app, ["keys", "disable", created["accessKeyId"], *data]).exit_code == 0
    assert not json.loads(runner.invoke(app, ["keys", "list", *data, "--json"]).stdout)[0]["active"]
    assert runner.invoke(app, ["keys", "delete", created["accessKeyId"], *data]).exit_code == 0
    assert json.loads(runner.invoke(app, ["keys", "list", *data, "--json"]).stdout) == []
    assert runner.invoke(app, ["keys", "delete", "LTAInope", *data]).exit_code == 1


def test_disabled_key_is_refused(tmp_path: Path, base_model: Path, images: ImageServer) -> None:
    from alibabacloud_tea_openapi.exceptions import ClientException

    settings = settings_for(tmp_path / "data", base_model)
    with running(settings) as srv:
        client = srv.new_client()
        assert client.personalizedtxt_2img_query_model_train_job_list().body.data == []
        CliRunner().invoke(app, ["keys", "disable", srv.access_key_id, "--data-dir", str(settings.data_dir)])
        try:
            client.personalizedtxt_2img_query_model_train_job_list()
        except ClientException as exc:
            assert exc.code == "InvalidAccessKeyId.Inactive"
        else:
            raise AssertionError("a disabled key was accepted")
