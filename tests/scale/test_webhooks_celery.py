"""Webhooks and metrics when Celery workers run the jobs: `imprint worker --mock` writes the outbox rows
in the transactions that change the job's status, the serving process's delivery loop sends them, and
the worker's own /metrics (--metrics-port) shows the training it ran."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx
import pytest
from alibabacloud_aicontent20240611 import models as m
from apikit import ImageServer, free_port, png_bytes, running, wait_for
from prometheus_client.parser import text_string_to_metric_families
from scalekit import WorkerProcess
from typer.testing import CliRunner

from imprint.cli.main import app as cli

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "platform"))
from platformkit import Receiver, mock_settings  # noqa: E402

pytestmark = [pytest.mark.scale, pytest.mark.slow]


def test_celery_workers_write_the_outbox_and_expose_metrics(tmp_path: Path, pg_url: str, redis_url: str,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    images = ImageServer()
    urls = [images.add(f"cat{i}.png", png_bytes(i, "cat")) for i in range(2)]
    receiver = Receiver(free_port())
    receiver.up()
    metrics_port = free_port()
    settings = mock_settings(tmp_path / "api", database_url=pg_url, queue_url=redis_url)
    worker = WorkerProcess(["--mock", "--queues", "train,infer", "--pool", "solo", "--data-dir",
                            str(tmp_path / "worker"), "--database-url", pg_url, "--queue-url", redis_url,
                            "--allow-fetch-from", "127.0.0.0/8", "--metrics-port", str(metrics_port),
                            "--metrics-host", "127.0.0.1"], env={}, log=tmp_path / "worker.log")
    try:
        with running(settings) as server:
            monkeypatch.setenv("IMPRINT_DATABASE_URL", pg_url)
            account = server.runtime.first_key.account_id  # type: ignore[union-attr]
            result = CliRunner().invoke(cli, ["webhooks", "add", receiver.url, "--account", account,
                                              "--data-dir", str(tmp_path / "api"), "--json"])
            assert result.exit_code == 0, result.output
            receiver.secret = __import__("json").loads(result.output)["secret"]
            worker.wait_for_output("ready.")
            client = server.new_client()
            model_id = client.personalizedtxt_2img_add_model_train_job(
                m.Personalizedtxt2imgAddModelTrainJobRequest(name="n", object_type="cat", image_url=urls)
            ).body.data.model_id
            wait_for(lambda: client.personalizedtxt_2img_query_model_train_status(
                m.Personalizedtxt2imgQueryModelTrainStatusRequest(model_id=model_id)).body.data,
                lambda d: d.model_train_status, timeout=60)
            got = receiver.wait_for(2, timeout=30)
        assert [(p["type"], p["data"]["modelId"]) for p in got] == [
            ("training.started", model_id), ("training.finished", model_id)]
        text = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics").text
        counts = {s.name: s.value for f in text_string_to_metric_families(text) for s in f.samples}
        assert counts["imprint_training_duration_seconds_count"] == 1
    finally:
        worker.stop()
        receiver.down()
        images.close()
