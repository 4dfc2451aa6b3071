"""Every operation through every official client variant: new SDK (V3 sync and async, v2/ROA
signatures), the old core SDK (form field `body`), and the v2 pre-model flow."""

from __future__ import annotations

import asyncio
import base64
import io
import json

from alibabacloud_aicontent20240611 import models as m
from apikit import Server, wait_for
from PIL import Image

PROMPT = "a <special-token> dog on the beach"


def _old(server: Server, request: object) -> dict:
    request.set_endpoint(server.endpoint)  # type: ignore[attr-defined]
    request.set_protocol_type("http")  # type: ignore[attr-defined]
    return json.loads(server.old_client().do_action_with_exception(request))


def test_v2_flow_new_sdk(server: Server, image_urls: list[str]) -> None:
    client = server.new_client()
    resp = client.personalized_text_to_image_add_inference_job(
        m.PersonalizedTextToImageAddInferenceJobRequest(
            image_url=image_urls, prompt=PROMPT, train_steps=3, image_number=2, seed=1, strength=0.3
        )
    )
    job = resp.body.data
    assert resp.body.success and job.job_status == "SUBMITTED" and job.model_id.startswith("dog_")
    done = wait_for(
        lambda: (
            client.personalized_text_to_image_query_pre_model_inference_job_info(
                m.PersonalizedTextToImageQueryPreModelInferenceJobInfoRequest(inference_job_id=job.id)
            ).body.data
        ),
        lambda d: d.job_status,
    )
    assert done.job_status == "FINISHED" and len(done.result_image_url) == 2
    assert len(set(done.result_image_url)) == 2 and "0000.png" not in done.result_image_url
    text = client.personalized_text_to_image_query_image_asset(
        m.PersonalizedTextToImageQueryImageAssetRequest(
            image_id=done.result_image_url[1], encode_format="base64"
        )
    ).body
    assert Image.open(io.BytesIO(base64.b64decode(text))).format == "PNG"
    # Internal v2 models are not the caller's trained models.
    listing = client.personalizedtxt_2img_query_model_train_job_list().body.data
    assert done.model_id not in [j.model_id for j in listing]


def test_new_sdk_v2_signature(server: Server, trained_model: str) -> None:
    client = server.new_client(signature_algorithm="v2")
    status = client.personalizedtxt_2img_query_model_train_status(
        m.Personalizedtxt2imgQueryModelTrainStatusRequest(model_id=trained_model)
    )
    assert status.body.data.model_train_status == "FINISHED"
    resp = client.personalizedtxt_2img_add_inference_job(
        m.Personalizedtxt2imgAddInferenceJobRequest(
            model_id=trained_model, prompt="a <special-token>", image_number=1
        )
    )
    assert resp.body.success and resp.body.data.job_status == "SUBMITTED"
    assert isinstance(client.personalizedtxt_2img_query_model_train_job_list().body.data, list)


def test_new_sdk_async_v3_and_v2(server: Server, trained_model: str) -> None:
    async def go(**config: str) -> None:
        client = server.new_client(**config)
        status = await client.personalizedtxt_2img_query_model_train_status_async(
            m.Personalizedtxt2imgQueryModelTrainStatusRequest(model_id=trained_model)
        )
        assert status.body.data.model_train_status == "FINISHED"
        resp = await client.personalizedtxt_2img_add_inference_job_async(
            m.Personalizedtxt2imgAddInferenceJobRequest(
                model_id=trained_model, prompt="a <special-token>", image_number=1, seed=3
            )
        )
        job_id = resp.body.data.id
        info = await client.personalizedtxt_2img_query_inference_job_info_async(
            m.Personalizedtxt2imgQueryInferenceJobInfoRequest(inference_job_id=job_id)
        )
        assert info.body.data.id == job_id
        listing = await client.personalizedtxt_2img_query_model_train_job_list_async()
        assert isinstance(listing.body.data, list)

    asyncio.run(go())
    asyncio.run(go(signature_algorithm="v2"))


def test_old_sdk_every_v1_operation(server: Server, image_urls: list[str], trained_model: str) -> None:
    from aliyunsdkaicontent.request.v20240611 import (
        Personalizedtxt2imgAddInferenceJobRequest as AddInference,
    )
    from aliyunsdkaicontent.request.v20240611 import (
        Personalizedtxt2imgAddModelTrainJobRequest as AddTrain,
    )
    from aliyunsdkaicontent.request.v20240611 import (
        Personalizedtxt2imgQueryImageAssetRequest as Asset,
    )
    from aliyunsdkaicontent.request.v20240611 import (
        Personalizedtxt2imgQueryInferenceJobInfoRequest as Info,
    )
    from aliyunsdkaicontent.request.v20240611 import (
        Personalizedtxt2imgQueryModelTrainJobListRequest as Listing,
    )
    from aliyunsdkaicontent.request.v20240611 import (
        Personalizedtxt2imgQueryModelTrainStatusRequest as Status,
    )

    add = AddTrain.Personalizedtxt2imgAddModelTrainJobRequest()
    add.set_body(
        json.dumps({"name": "熊猫图片生成", "objectType": "dog", "imageUrl": image_urls, "trainSteps": 2})
    )
    created = _old(server, add)
    assert created["success"] and created["data"]["name"] == "熊猫图片生成"
    st = Status.Personalizedtxt2imgQueryModelTrainStatusRequest()
    st.set_modelId(created["data"]["modelId"])
    assert _old(server, st)["data"]["modelTrainStatus"] in {"SUBMITTED", "TRAINING", "FINISHED"}
    assert isinstance(_old(server, Listing.Personalizedtxt2imgQueryModelTrainJobListRequest())["data"], list)
    inf = AddInference.Personalizedtxt2imgAddInferenceJobRequest()
    inf.set_body(json.dumps({"modelId": trained_model, "prompt": "a <special-token>", "imageNumber": 1}))
    job = _old(server, inf)["data"]

    def info() -> dict:
        q = Info.Personalizedtxt2imgQueryInferenceJobInfoRequest()
        q.set_inferenceJobId(job["id"])
        return _old(server, q)["data"]

    done = wait_for(info, lambda d: d["jobStatus"])
    assert done["resultImageUrl"] == ["0000.png"]
    a = Asset.Personalizedtxt2imgQueryImageAssetRequest()
    a.set_modelId(trained_model)
    a.set_promptId(done["promptId"])
    a.set_imageId("0000.png")
    a.set_encodeFormat("base64")
    a.set_endpoint(server.endpoint)
    a.set_protocol_type("http")
    b64 = server.old_client().do_action_with_exception(a)
    assert Image.open(io.BytesIO(base64.b64decode(b64))).format == "PNG"
