"""With the real engine: an inference job moves the adapter cache and generation metrics of /metrics."""

from __future__ import annotations

import httpx
from alibabacloud_aicontent20240611 import models as m
from apikit import Server, wait_for
from prometheus_client.parser import text_string_to_metric_families


def _samples(server: Server) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = httpx.get(f"http://{server.endpoint}/metrics").text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for f in text_string_to_metric_families(text) for s in f.samples}


def test_inference_moves_the_engine_metrics(server: Server, trained_model: str) -> None:
    before = _samples(server)
    client = server.new_client()
    job = client.personalizedtxt_2img_add_inference_job(m.Personalizedtxt2imgAddInferenceJobRequest(
        model_id=trained_model, prompt="a <special-token> dog", image_number=1, seed=3)).body.data
    done = wait_for(lambda: client.personalizedtxt_2img_query_inference_job_info(
        m.Personalizedtxt2imgQueryInferenceJobInfoRequest(inference_job_id=job.id)).body.data,
        lambda d: d.job_status)
    assert done.job_status == "FINISHED"
    after = _samples(server)

    def grew(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    assert grew("imprint_generation_duration_seconds_count") == 1
    assert after[("imprint_engine_steps_per_second", (("stage", "generation"),))] > 0
    # The adapter was either loaded now or already warm from an earlier job: one of the two moved.
    assert grew("imprint_adapter_cache_events_total", event="load") + grew(
        "imprint_adapter_cache_events_total", event="hit") >= 1
