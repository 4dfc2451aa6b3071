"""The v1 flow with the new SDK (V3 signatures): train -> poll -> infer -> poll -> fetch raw and base64."""

from __future__ import annotations

import base64
import io

from alibabacloud_aicontent20240611 import models as m
from apikit import Server, wait_for
from PIL import Image


def _infer(
    server: Server, model_id: str, n: int
) -> m.Personalizedtxt2imgQueryInferenceJobInfoResponseBodyData:
    client = server.new_client()
    resp = client.personalizedtxt_2img_add_inference_job(
        m.Personalizedtxt2imgAddInferenceJobRequest(
            model_id=model_id, prompt="a <special-token> in the snow", image_number=n, seed=7
        )
    )
    assert resp.status_code == 200 and resp.body.success is True and resp.body.err_code is None
    job = resp.body.data
    assert job.job_status == "SUBMITTED" and job.model_id == model_id and job.prompt_id and job.id.isdigit()
    done = wait_for(
        lambda: (
            client.personalizedtxt_2img_query_inference_job_info(
                m.Personalizedtxt2imgQueryInferenceJobInfoRequest(inference_job_id=job.id)
            ).body.data
        ),
        lambda d: d.job_status,
    )
    assert done.job_status == "FINISHED" and done.job_train_progress == 1.0
    return done


def test_training_reports_status_and_lists(server: Server, trained_model: str, image_urls: list[str]) -> None:
    client = server.new_client()
    status = client.personalizedtxt_2img_query_model_train_status(
        m.Personalizedtxt2imgQueryModelTrainStatusRequest(model_id=trained_model)
    )
    assert status.body.data.model_train_status == "FINISHED"
    listing = client.personalizedtxt_2img_query_model_train_job_list().body
    assert listing.success and isinstance(listing.data, list)
    mine = [j for j in listing.data if j.model_id == trained_model][0]
    assert mine.object_type == "dog" and mine.image_url == image_urls and mine.job_train_progress == 1.0
    assert mine.model_id.startswith("dog_")


def test_infer_and_fetch_raw_and_base64(server: Server, trained_model: str) -> None:
    done = _infer(server, trained_model, 2)
    assert done.result_image_url == ["0000.png", "0001.png"]
    size = server.runtime.worker.engine.image_size
    client = server.new_client()
    for image_id in done.result_image_url:
        text = client.personalizedtxt_2img_query_image_asset(
            m.Personalizedtxt2imgQueryImageAssetRequest(
                model_id=trained_model, prompt_id=done.prompt_id, image_id=image_id, encode_format="base64"
            )
        ).body
        img = Image.open(io.BytesIO(base64.b64decode(text)))
        assert img.format == "PNG" and img.size == (size, size)
    # The new SDK cannot take binary bodies; the old one hands back the raw bytes.
    from aliyunsdkaicontent.request.v20240611.Personalizedtxt2imgQueryImageAssetRequest import (
        Personalizedtxt2imgQueryImageAssetRequest,
    )

    req = Personalizedtxt2imgQueryImageAssetRequest()
    req.set_endpoint(server.endpoint)
    req.set_protocol_type("http")
    req.set_modelId(trained_model)
    req.set_promptId(done.prompt_id)
    req.set_imageId("0001.png")
    raw = server.old_client().do_action_with_exception(req)
    assert Image.open(io.BytesIO(raw)).size == (size, size)
    assert raw == base64.b64decode(text)
    listing = client.personalizedtxt_2img_query_model_train_job_list().body.data
    mine = [j for j in listing if j.model_id == trained_model][0]
    assert done.id in [j.id for j in mine.inference_job_list] and mine.inference_image_count >= 2
