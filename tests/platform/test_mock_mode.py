"""`imprint serve --mock` through the official SDK: real job states and progress, placeholder PNGs of
the asked size with the prompt on them, every response marked."""

from __future__ import annotations

import base64
import io
import time

import httpx
from alibabacloud_aicontent20240611 import models as m
from apikit import Server, wait_for
from PIL import Image

from imprint.worker.mock_engine import DEFAULT_SIZE, placeholder


def _train(server: Server, urls: list[str]) -> tuple[str, list[float]]:
    client = server.new_client()
    resp = client.personalizedtxt_2img_add_model_train_job(m.Personalizedtxt2imgAddModelTrainJobRequest(
        name="my cat", object_type="cat", image_url=urls))
    assert resp.headers["x-imprint-mock"] == "true"
    model_id = resp.body.data.model_id
    seen: list[float] = []
    started = time.monotonic()
    while True:
        # The list carries the progress (the status operation's SDK model has no field for it).
        models = client.personalizedtxt_2img_query_model_train_job_list().body.data
        model = next(d for d in models if d.model_id == model_id)
        seen.append(model.job_train_progress)
        if model.job_status in ("FINISHED", "TRAINING_TERMINATED", "WRONG_IMAGE_URL"):
            break
        assert time.monotonic() - started < 20, "a mock training should end in about a second"
        time.sleep(0.05)
    assert model.job_status == "FINISHED", model.to_map()
    return model_id, seen


def test_mock_training_reports_progress_and_images_are_placeholders(mock_server: Server,
                                                                    image_urls: list[str]) -> None:
    model_id, progress = _train(mock_server, image_urls)
    assert any(0 < p < 1 for p in progress), progress  # real steps, not a jump from 0 to 1
    assert progress == sorted(progress)

    client = mock_server.new_client()
    prompt = "a photo of <special-token> cat on the moon"
    job = client.personalizedtxt_2img_add_inference_job(m.Personalizedtxt2imgAddInferenceJobRequest(
        model_id=model_id, prompt=prompt, image_number=2, seed=7)).body.data
    done = wait_for(lambda: client.personalizedtxt_2img_query_inference_job_info(
        m.Personalizedtxt2imgQueryInferenceJobInfoRequest(inference_job_id=job.id)).body.data,
        lambda d: d.job_status, timeout=20)
    assert done.job_status == "FINISHED" and len(done.result_image_url) == 2

    asset = client.personalizedtxt_2img_query_image_asset(m.Personalizedtxt2imgQueryImageAssetRequest(
        model_id=model_id, prompt_id=done.prompt_id, image_id=done.result_image_url[1],
        encode_format="base64"))
    assert asset.headers["x-imprint-mock"] == "true"
    png = base64.b64decode(asset.body)
    image = Image.open(io.BytesIO(png))
    assert image.size == (DEFAULT_SIZE, DEFAULT_SIZE)
    # Deterministic: the same prompt, seed and index give the same pixels, and the prompt is drawn.
    expected = placeholder(prompt, (DEFAULT_SIZE, DEFAULT_SIZE), seed=7, index=1)
    assert image.convert("RGB").tobytes() == expected.tobytes()
    blank = Image.new("RGB", expected.size, expected.getpixel((DEFAULT_SIZE - 1, DEFAULT_SIZE - 1)))
    assert expected.tobytes() != blank.tobytes()


def test_every_response_is_marked_even_errors(mock_server: Server) -> None:
    for path in ("/api/v1/personalizedtxt2img/queryModelTrainJobList", "/nowhere", "/openapi.json"):
        resp = httpx.get(f"http://{mock_server.endpoint}{path}")
        assert resp.headers["x-imprint-mock"] == "true", path


def test_placeholders_take_the_asked_size_and_stop_when_cancelled() -> None:
    import threading
    from types import SimpleNamespace

    import pytest

    from imprint.engine.errors import Cancelled
    from imprint.worker.mock_engine import MockEngine

    steps: list[float] = []
    images = MockEngine().generate(prompt="p", adapter=None, num_images=2, seed=1, progress=steps.append,
                                   cancel=threading.Event(), controls=SimpleNamespace(width=64, height=96))
    assert [i.size for i in images] == [(64, 96), (64, 96)] and steps == [0.5, 1.0]
    stop = threading.Event()
    stop.set()
    with pytest.raises(Cancelled):
        MockEngine().generate(prompt="p", adapter=None, num_images=1, seed=1, progress=steps.append,
                              cancel=stop)
