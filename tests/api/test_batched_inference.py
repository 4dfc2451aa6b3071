"""`inference_workers` > 1: inference jobs of different models that run at the same time share one
denoising loop, and each job still gets exactly the images it would have got alone."""

from __future__ import annotations

import base64
import io
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from alibabacloud_aicontent20240611 import models as m
from apikit import Server, running, settings_for, train_model, wait_for
from PIL import Image


def _submit(client: Any, model_id: str, seed: int) -> str:
    resp = client.personalizedtxt_2img_add_inference_job(
        m.Personalizedtxt2imgAddInferenceJobRequest(
            model_id=model_id, prompt="a <special-token> on the beach", image_number=2, seed=seed
        )
    )
    assert resp.body.success is True
    return resp.body.data.id


def _images(client: Any, job_id: str) -> list[np.ndarray]:
    done = wait_for(
        lambda: client.personalizedtxt_2img_query_inference_job_info(
            m.Personalizedtxt2imgQueryInferenceJobInfoRequest(inference_job_id=job_id)
        ).body.data,
        lambda d: d.job_status,
    )
    assert done.job_status == "FINISHED" and done.job_train_progress == 1.0
    out = []
    for image_id in done.result_image_url:
        text = client.personalizedtxt_2img_query_image_asset(
            m.Personalizedtxt2imgQueryImageAssetRequest(
                model_id=done.model_id, prompt_id=done.prompt_id, image_id=image_id, encode_format="base64"
            )
        ).body
        out.append(np.asarray(Image.open(io.BytesIO(base64.b64decode(text))), dtype=np.int16))
    return out


@pytest.fixture(scope="module")
def batching_server(tmp_path_factory: pytest.TempPathFactory, base_model: Path) -> Any:
    # Three lanes: one job to hold the engine while the other two queue up behind it.
    with running(settings_for(tmp_path_factory.mktemp("batched"), base_model, inference_workers=3)) as srv:
        yield srv


def test_concurrent_jobs_of_two_models_share_a_batch_with_their_own_images(
    batching_server: Server, image_urls: list[str]
) -> None:
    client = batching_server.new_client()
    dog = train_model(client, image_urls)
    cat = train_model(client, image_urls[:1])
    # Alone first: the reference images of each model.
    alone = {model: _images(client, _submit(client, model, seed=11)) for model in (dog, cat)}

    engine = batching_server.runtime.worker.engine
    generator, combiner = engine.generator(), engine.combiner()
    batches: list[list[str]] = []
    real = generator.generate_batch

    def counting(items: Any, **kwargs: Any) -> Any:
        batches.append([str(item.request.adapter) for item in items])
        return real(items, **kwargs)

    generator.generate_batch = counting
    try:
        with generator._lock:  # the first job is served alone and blocks here; the next two queue
            first = _submit(client, dog, seed=5)
            together = {model: _submit(client, model, seed=11) for model in (dog, cat)}
            deadline = time.monotonic() + 60
            while len(combiner._waiting) < 2:
                assert time.monotonic() < deadline, "the two jobs never queued in the combiner"
                time.sleep(0.02)
        _images(client, first)
        shared = {model: _images(client, job) for model, job in together.items()}
    finally:
        del generator.generate_batch
    assert any(len(b) == 2 and len(set(b)) == 2 for b in batches), batches  # two adapters, one loop
    for model in (dog, cat):
        assert len(shared[model]) == 2
        for a, b in zip(alone[model], shared[model], strict=True):
            assert np.abs(a - b).max() <= 2  # the same pictures, up to float summation order
    # And the two models' images do differ: each job got its own adapter, not its neighbour's.
    assert np.abs(shared[dog][0] - shared[cat][0]).max() > 2

