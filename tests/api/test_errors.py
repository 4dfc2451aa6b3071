"""Errors both SDKs can read: statuses, envelope fields and Code/Message/RequestId."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from alibabacloud_aicontent20240611 import models as m
from alibabacloud_tea_openapi.exceptions import ClientException
from apikit import Server, png_bytes, wait_for
from signing_kit import sign_v3

PREFIX = "/api/v1/personalizedtxt2img/"
ACTIONS = {
    "addModelTrainJob": "Personalizedtxt2imgAddModelTrainJob",
    "addInferenceJob": "Personalizedtxt2imgAddInferenceJob",
    "addPreModelInferenceJob": "PersonalizedTextToImageAddInferenceJob",
    "queryModelTrainStatus": "Personalizedtxt2imgQueryModelTrainStatus",
    "queryInferenceJobInfo": "Personalizedtxt2imgQueryInferenceJobInfo",
    "queryImageAsset": "Personalizedtxt2imgQueryImageAsset",
    "queryImageAssetFromImageId": "PersonalizedTextToImageQueryImageAsset",
}


def call(
    server: Server,
    op: str,
    *,
    query: dict[str, str] | None = None,
    body: Any = None,
    raw: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    method = "POST" if op.startswith("add") else "GET"
    data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
    target, signed = sign_v3(
        method,
        PREFIX + op,
        query or {},
        data,
        action=ACTIONS[op],
        host=server.endpoint,
        access_key_id=server.access_key_id,
        secret=server.secret,
        content_type="application/json; charset=utf-8" if method == "POST" else None,
    )
    return httpx.request(
        method, f"http://{server.endpoint}{target}", content=data, headers={**signed, **(headers or {})}
    )


def assert_error(resp: httpx.Response, status: int, code: str, *words: str) -> dict:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["Code"] == body["errCode"] == code and body["success"] is False
    assert (
        body["RequestId"] == body["requestId"] and body["httpStatusCode"] == status and body["data"] is None
    )
    for word in words:
        assert word in body["Message"] and word in body["errMessage"]
    assert "Traceback" not in resp.text
    return body


def test_missing_parameters_are_named(server: Server) -> None:
    assert_error(call(server, "queryModelTrainStatus"), 400, "B_PARAMETER_NOT_FOUND_EXCEPTION", "modelId")
    assert_error(
        call(server, "addModelTrainJob", body={"name": "x", "objectType": "dog"}),
        400,
        "B_PARAMETER_NOT_FOUND_EXCEPTION",
        "imageUrl",
    )
    assert_error(
        call(server, "queryImageAsset", query={"modelId": "a", "promptId": "b"}),
        400,
        "B_PARAMETER_NOT_FOUND_EXCEPTION",
        "imageId",
    )
    assert_error(
        call(server, "addPreModelInferenceJob", body={"imageUrl": ["http://x/a.png"]}),
        400,
        "B_PARAMETER_NOT_FOUND_EXCEPTION",
        "prompt",
    )


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"imageNumber": -1}, ["imageNumber", "-1"]),
        ({"imageNumber": "2"}, ["imageNumber", "integer"]),
        ({"seed": 2**31}, ["seed", "2147483647"]),
        ({"seed": -2}, ["seed"]),
        ({"seed": 1.5}, ["seed", "integer"]),
        ({"prompt": 5}, ["prompt", "string"]),
    ],
)
def test_invalid_values_say_what_is_wrong(
    server: Server, trained_model: str, body: dict, words: list
) -> None:
    full = {"modelId": trained_model, "prompt": "a <special-token>", **body}
    assert_error(call(server, "addInferenceJob", body=full), 400, "B_PARAMETER_INVALID_EXCEPTION", *words)


def test_malformed_and_mistyped_bodies(server: Server) -> None:
    assert_error(
        call(server, "addModelTrainJob", raw=b'{"name": "x",'), 400, "B_PARAMETER_INVALID_EXCEPTION", "JSON"
    )
    assert_error(
        call(server, "addModelTrainJob", raw=b"[1, 2]"), 400, "B_PARAMETER_INVALID_EXCEPTION", "object"
    )
    bad = {"name": "x", "objectType": "dog", "imageUrl": "http://x/a.png"}
    assert_error(
        call(server, "addModelTrainJob", body=bad), 400, "B_PARAMETER_INVALID_EXCEPTION", "imageUrl", "array"
    )
    bad = {"name": "x", "objectType": "dog", "imageUrl": ["http://x/a.png"], "trainSteps": 0}
    assert_error(
        call(server, "addModelTrainJob", body=bad), 400, "B_PARAMETER_INVALID_EXCEPTION", "trainSteps"
    )
    bad = {"imageUrl": ["http://x/a.png"], "prompt": "a <special-token>", "strength": "high"}
    assert_error(
        call(server, "addPreModelInferenceJob", body=bad), 400, "B_PARAMETER_INVALID_EXCEPTION", "strength"
    )


def test_unknown_things_are_404(server: Server, trained_model: str) -> None:
    assert_error(
        call(server, "queryModelTrainStatus", query={"modelId": "dog_nope"}),
        404,
        "B_MODEL_TRAIN_JOB_NOT_EXIST",
        "dog_nope",
    )
    assert_error(
        call(server, "addInferenceJob", body={"modelId": "nope", "prompt": "a"}),
        404,
        "B_MODEL_TRAIN_JOB_NOT_EXIST",
    )
    for job in ("999999", "abc"):
        assert_error(
            call(server, "queryInferenceJobInfo", query={"inferenceJobId": job}),
            404,
            "B_INFERENCE_JOB_NOT_EXIST",
            job,
        )
    q = {"modelId": trained_model, "promptId": "nope", "imageId": "0000.png"}
    assert_error(call(server, "queryImageAsset", query=q), 404, "B_DATA_NOT_FOUND_EXCEPTION")
    assert_error(
        call(server, "queryImageAssetFromImageId", query={"imageId": "nope.png"}),
        404,
        "B_DATA_NOT_FOUND_EXCEPTION",
    )
    resp = httpx.get(f"http://{server.endpoint}/api/v1/personalizedtxt2img/nothing")
    assert_error(resp, 404, "InvalidAction.NotFound")


def test_sdks_read_error_codes(server: Server) -> None:
    client = server.new_client()
    with pytest.raises(ClientException) as info:
        client.personalizedtxt_2img_query_model_train_status(
            m.Personalizedtxt2imgQueryModelTrainStatusRequest(model_id="dog_missing")
        )
    assert info.value.code == "B_MODEL_TRAIN_JOB_NOT_EXIST" and info.value.status_code == 404
    assert info.value.request_id
    from aliyunsdkaicontent.request.v20240611.Personalizedtxt2imgQueryModelTrainStatusRequest import (
        Personalizedtxt2imgQueryModelTrainStatusRequest,
    )
    from aliyunsdkcore.acs_exception.exceptions import ServerException

    req = Personalizedtxt2imgQueryModelTrainStatusRequest()
    req.set_endpoint(server.endpoint)
    req.set_protocol_type("http")
    req.set_modelId("dog_missing")
    with pytest.raises(ServerException) as old:
        server.old_client().do_action_with_exception(req)
    assert old.value.get_error_code() == "B_MODEL_TRAIN_JOB_NOT_EXIST" and old.value.get_http_status() == 404


def test_bad_signatures(server: Server) -> None:
    wrong = server.new_client(access_key_secret="x" * 30)
    with pytest.raises(ClientException) as info:
        wrong.personalizedtxt_2img_query_model_train_job_list()
    assert info.value.code == "SignatureDoesNotMatch" and info.value.status_code == 400
    unknown = server.new_client(access_key_id="LTAInotAKeyAtAll000000")
    with pytest.raises(ClientException) as info:
        unknown.personalizedtxt_2img_query_model_train_job_list()
    assert info.value.code == "InvalidAccessKeyId.NotFound" and info.value.status_code == 404
    resp = httpx.get(f"http://{server.endpoint}{PREFIX}queryModelTrainJobList")
    assert_error(resp, 400, "MissingAuthorization")
    from aliyunsdkaicontent.request.v20240611.Personalizedtxt2imgQueryModelTrainJobListRequest import (
        Personalizedtxt2imgQueryModelTrainJobListRequest,
    )
    from aliyunsdkcore.acs_exception.exceptions import ServerException

    req = Personalizedtxt2imgQueryModelTrainJobListRequest()
    req.set_endpoint(server.endpoint)
    req.set_protocol_type("http")
    with pytest.raises(ServerException) as old:
        server.old_client(secret="y" * 30).do_action_with_exception(req)
    assert old.value.get_http_status() == 400
    assert old.value.get_error_code() in {"SignatureDoesNotMatch", "InvalidAccessKeySecret"}


def test_encode_format_and_etag(server: Server, trained_model: str) -> None:
    resp = call(server, "addInferenceJob", body={"modelId": trained_model, "prompt": "a <special-token>"})
    job_id = resp.json()["data"]["id"]
    done = wait_for(
        lambda: call(server, "queryInferenceJobInfo", query={"inferenceJobId": job_id}).json()["data"],
        lambda d: d["jobStatus"],
    )
    q = {"modelId": trained_model, "promptId": done["promptId"], "imageId": "0000.png"}
    raw = call(server, "queryImageAsset", query=q)
    assert raw.status_code == 200 and raw.headers["content-type"] == "image/png"
    assert raw.content.startswith(b"\x89PNG")
    etag = raw.headers["etag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    assert call(server, "queryImageAsset", query=q, headers={"If-None-Match": etag}).status_code == 304
    b64 = call(server, "queryImageAsset", query={**q, "encodeFormat": "base64"})
    assert b64.headers["content-type"].startswith("text/plain") and b64.headers["etag"] != etag
    assert_error(
        call(server, "queryImageAsset", query={**q, "encodeFormat": "jpeg"}),
        400,
        "B_PARAMETER_INVALID_EXCEPTION",
        "encodeFormat",
        "base64",
    )


def test_unusable_images_fail_with_reason(server: Server, images: Any) -> None:
    images.add("not-an-image.png", b"hello")
    urls = [
        images.add("ok.png", png_bytes(0)),
        f"http://127.0.0.1:{images.port}/missing.png",
        f"http://127.0.0.1:{images.port}/not-an-image.png",
    ]
    client = server.new_client()
    job = client.personalizedtxt_2img_add_model_train_job(
        m.Personalizedtxt2imgAddModelTrainJobRequest(
            name="bad", object_type="dog", image_url=urls, train_steps=2
        )
    ).body.data
    body = wait_for(
        lambda: (
            client.personalizedtxt_2img_query_model_train_status(
                m.Personalizedtxt2imgQueryModelTrainStatusRequest(model_id=job.model_id)
            ).body
        ),
        lambda b: b.data.model_train_status,
    )
    assert body.data.model_train_status == "WRONG_IMAGE_URL" and body.err_code == "WRONG_IMAGE_URL"
    assert "missing.png" in body.err_message and "404" in body.err_message
    assert "not-an-image.png" in body.err_message
