"""/metrics scraped and parsed with prometheus_client's own parser: requests by operation and status
with latency histograms, jobs by status, queue depth, engine durations and speed; and with several
API worker processes, every scrape adds up all of them (multiprocess mode)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from alibabacloud_aicontent20240611 import models as m
from apikit import Server, free_port, wait_for
from prometheus_client.parser import text_string_to_metric_families

from imprint.metrics import AdapterCacheCounts


def scrape(base: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    resp = httpx.get(f"{base}/metrics")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/plain")
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(resp.text) for s in family.samples}


def value(samples: dict, name: str, **labels: str) -> float:  # type: ignore[type-arg]
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_scrape_after_a_training_and_an_inference(mock_server: Server, image_urls: list[str]) -> None:
    base = f"http://{mock_server.endpoint}"
    before = scrape(base)
    client = mock_server.new_client()
    model_id = client.personalizedtxt_2img_add_model_train_job(m.Personalizedtxt2imgAddModelTrainJobRequest(
        name="n", object_type="cat", image_url=image_urls)).body.data.model_id
    wait_for(lambda: client.personalizedtxt_2img_query_model_train_status(
        m.Personalizedtxt2imgQueryModelTrainStatusRequest(model_id=model_id)).body.data,
        lambda d: d.model_train_status, timeout=20)
    job = client.personalizedtxt_2img_add_inference_job(m.Personalizedtxt2imgAddInferenceJobRequest(
        model_id=model_id, prompt="<special-token> cat", image_number=1)).body.data
    wait_for(lambda: client.personalizedtxt_2img_query_inference_job_info(
        m.Personalizedtxt2imgQueryInferenceJobInfoRequest(inference_job_id=job.id)).body.data,
        lambda d: d.job_status, timeout=20)
    httpx.get(f"{base}/api/v1/personalizedtxt2img/queryModelTrainJobList")  # unsigned: a 400
    after = scrape(base)

    add = "Personalizedtxt2imgAddModelTrainJob"
    delta = value(after, "imprint_requests_total", operation=add, status="200") - value(
        before, "imprint_requests_total", operation=add, status="200")
    assert delta == 1
    assert value(after, "imprint_requests_total", operation="Personalizedtxt2imgQueryModelTrainJobList",
                 status="400") >= 1
    assert value(after, "imprint_request_duration_seconds_count", operation=add) >= 1
    assert value(after, "imprint_request_duration_seconds_bucket", operation=add, le="+Inf") >= 1
    # The database's view, exact for this server.
    assert value(after, "imprint_jobs", kind="training", status="FINISHED") == 1
    assert value(after, "imprint_jobs", kind="inference", status="FINISHED") == 1
    assert value(after, "imprint_queue_depth", lane="train") == 0
    assert value(after, "imprint_queue_depth", lane="infer") == 0
    # The engine's side (the mock trains for about a second).
    assert value(after, "imprint_training_duration_seconds_count") - value(
        before, "imprint_training_duration_seconds_count") == 1
    assert value(after, "imprint_training_duration_seconds_sum") >= 0.9
    assert value(after, "imprint_generation_duration_seconds_count") >= 1
    assert value(after, "imprint_engine_steps_per_second", stage="training") > 0


def test_adapter_cache_statistics_become_counter_increments(mock_server: Server) -> None:
    base = f"http://{mock_server.endpoint}"
    before = scrape(base)
    counts = AdapterCacheCounts()
    counts.update(hits=3, loads=2, evictions=0)
    counts.update(hits=5, loads=2, evictions=1)
    after = scrape(base)
    for event, expected in (("hit", 5), ("load", 2), ("eviction", 1)):
        name = "imprint_adapter_cache_events_total"
        assert value(after, name, event=event) - value(before, name, event=event) == expected


@pytest.mark.slow
def test_several_api_workers_add_up_in_every_scrape(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "imprint.cli.main", "serve", "--mock", "--workers", "2", "--port", str(port),
         "--data-dir", str(tmp_path / "data")], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/openapi.json", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr and proc.stderr.read()
            time.sleep(0.2)
        for _ in range(11):  # with the probe that answered: 12, spread over both workers
            with httpx.Client() as fresh:  # a new connection each, so both workers take some
                assert fresh.get(f"{base}/openapi.json").status_code == 200
        for _ in range(4):
            with httpx.Client() as fresh:
                samples = {(s.name, frozenset(s.labels.items())): s.value for family in
                           text_string_to_metric_families(fresh.get(f"{base}/metrics").text)
                           for s in family.samples}
            assert value(samples, "imprint_requests_total", operation="/openapi.json", status="200") == 12
    finally:
        proc.terminate()
        proc.wait(30)
