"""Cancelling jobs end to end: a real server on loopback, the SDKs' generic calls, a real engine."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from alibabacloud_aicontent20240611 import models as m
from alibabacloud_tea_openapi.exceptions import ClientException
from apikit import Server, running, settings_for, train_model, wait_for
from generic import call_new, call_old

LONG_TRAINING = 3000  # steps: minutes on a CPU, so a job that ends soon was stopped


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory, base_model: Path) -> Iterator[Server]:
    with running(settings_for(tmp_path_factory.mktemp("cancel"), base_model)) as server:
        yield server


def _model(server: Server, model_id: str) -> dict:
    jobs = call_new(
        server, "Personalizedtxt2imgQueryModelTrainJobList", "queryModelTrainJobList", method="GET"
    )["body"]["data"]
    return next(j for j in jobs if j["modelId"] == model_id)


def _job(server: Server, job_id: str) -> dict:
    return call_new(
        server,
        "Personalizedtxt2imgQueryInferenceJobInfo",
        "queryInferenceJobInfo",
        method="GET",
        query={"inferenceJobId": job_id},
    )["body"]["data"]


def _train(server: Server, urls: list[str], steps: int) -> str:
    return call_new(
        server,
        "Personalizedtxt2imgAddModelTrainJob",
        "addModelTrainJob",
        body={"name": "long", "objectType": "dog", "imageUrl": urls, "trainSteps": steps},
    )["body"]["data"]["modelId"]


def _until(predicate, what: str, timeout: float = 120) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


@pytest.mark.slow
def test_cancel_mid_training_stops_the_engine(srv: Server, image_urls: list[str]) -> None:
    model_id = _train(srv, image_urls, LONG_TRAINING)
    _until(lambda: _model(srv, model_id)["jobTrainProgress"] > 0.05, "training never made progress")
    resp = call_new(
        srv, "Personalizedtxt2imgCancelModelTrainJob", "cancelModelTrainJob", body={"modelId": model_id}
    )
    assert resp["statusCode"] == 200
    data = resp["body"]["data"]
    assert data["jobStatus"] == "TRAINING_TERMINATED" and data["failureReason"] == "cancelled"
    stopped_at = _model(srv, model_id)["jobTrainProgress"]
    # The training lane is free again within moments: the engine stopped rather than training on.
    started = time.monotonic()
    quick = train_model(srv.new_client(), image_urls, steps=2)
    assert time.monotonic() - started < 60
    after = _model(srv, model_id)
    assert (after["jobStatus"], after["failureReason"]) == ("TRAINING_TERMINATED", "cancelled")
    assert after["jobTrainProgress"] == stopped_at < 1.0
    # The status query carries the reason as every failed job does.
    status = call_new(
        srv,
        "Personalizedtxt2imgQueryModelTrainStatus",
        "queryModelTrainStatus",
        method="GET",
        query={"modelId": model_id},
    )["body"]
    assert (status["errCode"], status["errMessage"]) == ("TRAINING_TERMINATED", "cancelled")
    # Twice is harmless; a model that ended otherwise is a clear error.
    again = call_old(
        srv, "Personalizedtxt2imgCancelModelTrainJob", "cancelModelTrainJob", body={"modelId": model_id}
    )
    assert json.loads(again)["data"]["jobStatus"] == "TRAINING_TERMINATED"
    with pytest.raises(ClientException) as err:
        call_new(
            srv, "Personalizedtxt2imgCancelModelTrainJob", "cancelModelTrainJob", body={"modelId": quick}
        )
    assert err.value.code == "B_JOB_ALREADY_ENDED" and "FINISHED" in err.value.message
    assert err.value.status_code == 400
    # Inference on a cancelled model is refused as on any unfinished one.
    with pytest.raises(ClientException) as err:
        call_new(
            srv,
            "Personalizedtxt2imgAddInferenceJob",
            "addInferenceJob",
            body={"modelId": model_id, "prompt": "a <special-token> dog"},
        )
    assert err.value.code == "B_MODEL_TRAIN_JOB_NOT_FINISHED"


def test_cancel_a_queued_training(srv: Server, image_urls: list[str]) -> None:
    running_id = _train(srv, image_urls, LONG_TRAINING)
    queued_id = _train(srv, image_urls, 2)
    _until(lambda: _model(srv, running_id)["jobStatus"] == "TRAINING", "first training never started")
    assert _model(srv, queued_id)["jobStatus"] == "SUBMITTED"
    old = json.loads(
        call_old(
            srv, "Personalizedtxt2imgCancelModelTrainJob", "cancelModelTrainJob", query={"modelId": queued_id}
        )
    )
    assert old["success"] and old["data"]["jobStatus"] == "TRAINING_TERMINATED"
    call_new(
        srv, "Personalizedtxt2imgCancelModelTrainJob", "cancelModelTrainJob", body={"modelId": running_id}
    )
    # The worker takes the queued job off the queue and leaves it as it is.
    quick = train_model(srv.new_client(), image_urls, steps=2)
    assert _model(srv, quick)["jobStatus"] == "FINISHED"
    assert _model(srv, queued_id)["jobStatus"] == "TRAINING_TERMINATED"
    assert _model(srv, queued_id)["jobTrainProgress"] == 0.0


@pytest.mark.slow
def test_cancel_mid_inference(srv: Server, image_urls: list[str]) -> None:
    model_id = train_model(srv.new_client(), image_urls, steps=2)
    # 200 steps at 512x512: long enough on a CPU to be caught running.
    body = {"modelId": model_id, "prompt": "a <special-token> dog", "steps": 200, "width": 512, "height": 512}
    job = call_new(srv, "Personalizedtxt2imgAddInferenceJob", "addInferenceJob", body=body)["body"]["data"]
    _until(lambda: _job(srv, job["id"])["jobTrainProgress"] > 0.02, "inference never made progress")
    data = call_new(
        srv, "Personalizedtxt2imgCancelInferenceJob", "cancelInferenceJob", body={"inferenceJobId": job["id"]}
    )["body"]["data"]
    assert data["jobStatus"] == "INFERRING_TERMINATED" and data["failureReason"] == "cancelled"
    # The inference lane serves the next job at once, and the cancelled one never gets images.
    small = call_new(
        srv,
        "Personalizedtxt2imgAddInferenceJob",
        "addInferenceJob",
        body={"modelId": model_id, "prompt": "a <special-token> dog"},
    )["body"]["data"]
    done = wait_for(lambda: _job(srv, small["id"]), lambda d: d["jobStatus"], timeout=60)
    assert done["jobStatus"] == "FINISHED"
    cancelled = _job(srv, job["id"])
    assert cancelled["jobStatus"] == "INFERRING_TERMINATED" and cancelled["resultImageUrl"] is None
    info = (
        srv.new_client()
        .personalizedtxt_2img_query_inference_job_info(
            m.Personalizedtxt2imgQueryInferenceJobInfoRequest(inference_job_id=job["id"])
        )
        .body
    )
    assert (info.err_code, info.err_message) == ("INFERRING_TERMINATED", "cancelled")
    with pytest.raises(ClientException) as err:
        call_new(
            srv,
            "Personalizedtxt2imgCancelInferenceJob",
            "cancelInferenceJob",
            body={"inferenceJobId": small["id"]},
        )
    assert err.value.code == "B_JOB_ALREADY_ENDED"


def test_cancel_a_v2_job_ends_its_internal_model(srv: Server, image_urls: list[str]) -> None:
    body = {"imageUrl": image_urls, "prompt": "a <special-token> dog", "trainSteps": LONG_TRAINING}
    job = call_new(srv, "PersonalizedTextToImageAddInferenceJob", "addPreModelInferenceJob", body=body)[
        "body"
    ]["data"]
    _until(lambda: _job(srv, job["id"])["jobTrainProgress"] > 0.01, "v2 job never made progress")
    data = call_old(
        srv, "Personalizedtxt2imgCancelInferenceJob", "cancelInferenceJob", body={"inferenceJobId": job["id"]}
    )
    assert json.loads(data)["data"]["jobStatus"] == "INFERRING_TERMINATED"
    status = call_new(
        srv,
        "Personalizedtxt2imgQueryModelTrainStatus",
        "queryModelTrainStatus",
        method="GET",
        query={"modelId": job["modelId"]},
    )["body"]["data"]
    assert status["modelTrainStatus"] == "TRAINING_TERMINATED"
    with pytest.raises(ClientException) as err:
        call_new(
            srv,
            "Personalizedtxt2imgCancelModelTrainJob",
            "cancelModelTrainJob",
            body={"modelId": job["modelId"]},
        )
    assert err.value.code == "B_PARAMETER_INVALID_EXCEPTION" and "inferenceJobId" in err.value.message
    # The training lane is free again.
    assert _model(srv, train_model(srv.new_client(), image_urls, steps=2))["jobStatus"] == "FINISHED"


def test_cancel_unknown_jobs_is_404(srv: Server) -> None:
    for action, path, body, code in [
        (
            "Personalizedtxt2imgCancelModelTrainJob",
            "cancelModelTrainJob",
            {"modelId": "dog_nope"},
            "B_MODEL_TRAIN_JOB_NOT_EXIST",
        ),
        (
            "Personalizedtxt2imgCancelInferenceJob",
            "cancelInferenceJob",
            {"inferenceJobId": "999999"},
            "B_INFERENCE_JOB_NOT_EXIST",
        ),
        (
            "Personalizedtxt2imgCancelInferenceJob",
            "cancelInferenceJob",
            {},
            "B_PARAMETER_NOT_FOUND_EXCEPTION",
        ),
    ]:
        with pytest.raises(ClientException) as err:
            call_new(srv, action, path, body=body)
        assert err.value.code == code
