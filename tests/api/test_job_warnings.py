"""Capped, cut and unknown inputs are reported in the job (`warnings`), unknown object types are refused
at submission, and status answers carry an ETA: read from the raw JSON through the SDK's generic call."""

from __future__ import annotations

from typing import Any

import pytest
from alibabacloud_aicontent20240611 import models as m
from apikit import Server, raw_call, wait_for
from Tea.exceptions import TeaException

ADD_INFERENCE = "Personalizedtxt2imgAddInferenceJob"
QUERY_INFERENCE = "Personalizedtxt2imgQueryInferenceJobInfo"


def _infer(server: Server, model_id: str, **fields: Any) -> dict[str, Any]:
    client = server.new_client()
    created = raw_call(client, ADD_INFERENCE, body={"modelId": model_id, **fields})["data"]
    query = {"inferenceJobId": created["id"]}
    return wait_for(lambda: raw_call(client, QUERY_INFERENCE, query=query)["data"],
                    lambda data: data["jobStatus"]) | {"created": created}


def test_image_number_over_the_cap_is_served_capped_and_said_so(server: Server, trained_model: str) -> None:
    job = _infer(server, trained_model, prompt="a <special-token> on the beach", imageNumber=12)
    assert job["jobStatus"] == "FINISHED"
    assert len(job["resultImageUrl"]) == 10
    expected = "imageNumber 12 is more than 10, the most one job makes: 10 images are made"
    assert job["created"]["warnings"] == [expected] and job["warnings"] == [expected]
    assert job["etaSeconds"] == 0.0


def test_image_number_zero_states_the_real_limit(server: Server, trained_model: str) -> None:
    with pytest.raises(TeaException) as err:
        server.new_client().personalizedtxt_2img_add_inference_job(m.Personalizedtxt2imgAddInferenceJobRequest(
            model_id=trained_model, prompt="a dog", image_number=0))
    assert err.value.code == "B_PARAMETER_INVALID_EXCEPTION"
    assert "between 1 and 10" in err.value.message and "served as 10" in err.value.message


def test_unknown_object_type_is_refused_at_submission(server: Server, image_urls: list[str]) -> None:
    with pytest.raises(TeaException) as err:
        server.new_client().personalizedtxt_2img_add_model_train_job(m.Personalizedtxt2imgAddModelTrainJobRequest(
            name="x", object_type="dragon", image_url=image_urls))
    assert err.value.code == "B_PARAMETER_INVALID_EXCEPTION"
    assert "'dragon'" in err.value.message and "dog" in err.value.message  # names words it does know


def test_unknown_prompt_words_are_reported_in_the_job(server: Server, trained_model: str) -> None:
    client = server.new_client()
    prompt = "a <special-token> riding a dragon on the beach"
    created = raw_call(client, ADD_INFERENCE, body={"modelId": trained_model, "prompt": prompt})
    assert created["data"]["warnings"] == [
        "the base model does not know the prompt word(s) 'riding', 'dragon'; it reads them as loose letters, "
        "so they will not steer the picture"]


def test_a_prompt_past_the_token_limit_says_what_was_dropped(server: Server, trained_model: str) -> None:
    prompt = "a <special-token> on the beach " + " ".join(["in the snow"] * 8) + " at night"
    job = _infer(server, trained_model, prompt=prompt)
    assert job["jobStatus"] == "FINISHED" and job["created"]["warnings"] == []
    [warning] = job["warnings"]
    assert warning.startswith("the prompt is longer than the 24 tokens the base model reads")
    assert warning.endswith("at night'")


def test_status_answers_carry_progress_eta_and_warnings(server: Server, trained_model: str) -> None:
    data = raw_call(server.new_client(), "Personalizedtxt2imgQueryModelTrainStatus",
                    query={"modelId": trained_model})["data"]
    assert data == {"modelTrainStatus": "FINISHED", "jobTrainProgress": 1.0, "warnings": [],
                    "etaSeconds": 0.0}


def test_a_pre_model_job_reports_its_capped_and_unknown_inputs(server: Server, image_urls: list[str]) -> None:
    client = server.new_client()
    created = raw_call(client, "PersonalizedTextToImageAddInferenceJob", path="addPreModelInferenceJob",
                       body={"imageUrl": image_urls, "prompt": "a dog riding a dragon", "imageNumber": 11,
                             "trainSteps": 1})["data"]
    # Run to its end, so that no job is left running when the shared server stops.
    query = {"inferenceJobId": created["id"]}
    done = wait_for(lambda: raw_call(client, QUERY_INFERENCE, query=query)["data"],
                    lambda data: data["jobStatus"])
    assert done["jobStatus"] == "FINISHED" and done["warnings"] == created["warnings"]
    assert created["warnings"] == [
        "imageNumber 11 is more than 10, the most one job makes: 10 images are made",
        "the base model does not know the prompt word(s) 'riding', 'dragon'; it reads them as loose "
        "letters, so they will not steer the picture"]
