"""Deleting models and inference jobs end to end, with local blobs: afterwards every read is a 404 and
nothing of theirs is left on disk. Also training photos: stored only while a model trains."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alibabacloud_tea_openapi.exceptions import ClientException
from apikit import Server, running, settings_for, train_model
from generic import call_new, call_old, finished_inference

PROMPT = "a <special-token> dog"


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory, base_model: Path) -> Iterator[Server]:
    with running(settings_for(tmp_path_factory.mktemp("delete"), base_model)) as server:
        yield server


def blob_files(server: Server) -> set[str]:
    root = server.runtime.settings.blob_root
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def infer(server: Server, model_id: str, **extra: Any) -> dict[str, Any]:
    job = call_new(
        server,
        "Personalizedtxt2imgAddInferenceJob",
        "addInferenceJob",
        body={"modelId": model_id, "prompt": PROMPT, **extra},
    )["body"]["data"]
    return job


def reads(server: Server, model_id: str, job: dict[str, Any]) -> list[tuple[str, str, dict[str, str]]]:
    """Every read that touches the model or the job: (action, path, query)."""
    image = job["resultImageUrl"][0]
    return [
        ("Personalizedtxt2imgQueryModelTrainStatus", "queryModelTrainStatus", {"modelId": model_id}),
        ("Personalizedtxt2imgQueryInferenceJobInfo", "queryInferenceJobInfo", {"inferenceJobId": job["id"]}),
        (
            "PersonalizedTextToImageQueryPreModelInferenceJobInfo",
            "queryPreModelInferenceJobInfo",
            {"inferenceJobId": job["id"]},
        ),
        (
            "Personalizedtxt2imgQueryImageAsset",
            "queryImageAsset",
            {"modelId": model_id, "promptId": job["promptId"], "imageId": image},
        ),
        ("Personalizedtxt2imgDownloadModel", "downloadModel", {"modelId": model_id}),
    ]


def assert_404(server: Server, action: str, path: str, query: dict[str, str]) -> None:
    with pytest.raises(ClientException) as err:
        call_new(server, action, path, method="GET", query=query, body_type="byte")
    assert err.value.status_code == 404, (path, err.value.code)


def test_delete_model_removes_everything(srv: Server, image_urls: list[str]) -> None:
    model_id = train_model(srv.new_client(), image_urls, steps=2)
    jobs = [finished_inference(srv, infer(srv, model_id, imageNumber=2)["id"]) for _ in range(2)]
    for action, path, query in reads(srv, model_id, jobs[0]):  # all readable, and the image now cached
        assert call_new(srv, action, path, method="GET", query=query, body_type="byte")["statusCode"] == 200
    mine = {f for f in blob_files(srv) if model_id in f or any(j["promptId"] in f for j in jobs)}
    assert len(mine) == 1 + 4  # the adapter and four images
    assert not [f for f in blob_files(srv) if f.startswith("photos/")]  # photos went after training

    resp = call_new(srv, "Personalizedtxt2imgDeleteModel", "deleteModel", body={"modelId": model_id})
    data = resp["body"]["data"]
    assert data == {"modelId": model_id, "deletedInferenceJobs": [j["id"] for j in jobs], "deletedImages": 4}
    for job in jobs:
        for action, path, query in reads(srv, model_id, job):
            assert_404(srv, action, path, query)
    assert_404(
        srv,
        "PersonalizedTextToImageQueryImageAsset",
        "queryImageAssetFromImageId",
        {"imageId": jobs[0]["resultImageUrl"][0]},
    )
    assert not mine & blob_files(srv)
    models = call_new(
        srv, "Personalizedtxt2imgQueryModelTrainJobList", "queryModelTrainJobList", method="GET"
    )["body"]["data"]
    assert model_id not in {m["modelId"] for m in models}
    with pytest.raises(ClientException) as err:  # deleting again: it is not there
        call_new(srv, "Personalizedtxt2imgDeleteModel", "deleteModel", body={"modelId": model_id})
    assert err.value.code == "B_MODEL_TRAIN_JOB_NOT_EXIST" and err.value.status_code == 404


def test_delete_one_inference_job(srv: Server, trained: str) -> None:
    keep, drop = (finished_inference(srv, infer(srv, trained)["id"]) for _ in range(2))
    data = json_of(
        call_old(
            srv,
            "Personalizedtxt2imgDeleteInferenceJob",
            "deleteInferenceJob",
            body={"inferenceJobId": drop["id"]},
        )
    )
    assert data == {"inferenceJobId": drop["id"], "deletedImages": 1}
    assert_404(
        srv,
        "Personalizedtxt2imgQueryInferenceJobInfo",
        "queryInferenceJobInfo",
        {"inferenceJobId": drop["id"]},
    )
    assert_404(
        srv,
        "Personalizedtxt2imgQueryImageAsset",
        "queryImageAsset",
        {"modelId": trained, "promptId": drop["promptId"], "imageId": "0000.png"},
    )
    assert not [f for f in blob_files(srv) if drop["promptId"] in f]
    # The model and the other job are untouched.
    assert (
        call_new(
            srv,
            "Personalizedtxt2imgQueryImageAsset",
            "queryImageAsset",
            method="GET",
            body_type="byte",
            query={"modelId": trained, "promptId": keep["promptId"], "imageId": "0000.png"},
        )["statusCode"]
        == 200
    )
    listed = call_new(
        srv, "Personalizedtxt2imgQueryModelTrainJobList", "queryModelTrainJobList", method="GET"
    )["body"]["data"]
    assert [j["id"] for m in listed if m["modelId"] == trained for j in m["inferenceJobList"]] == [keep["id"]]


@pytest.mark.slow
def test_delete_model_with_a_running_job_cancels_it(srv: Server, image_urls: list[str]) -> None:
    model_id = train_model(srv.new_client(), image_urls, steps=2)
    job = infer(srv, model_id, steps=200, width=512, height=512)
    deadline = time.monotonic() + 120
    while (
        call_new(
            srv,
            "Personalizedtxt2imgQueryInferenceJobInfo",
            "queryInferenceJobInfo",
            method="GET",
            query={"inferenceJobId": job["id"]},
        )["body"]["data"]["jobTrainProgress"]
        <= 0.02
    ):
        assert time.monotonic() < deadline, "the job never made progress"
        time.sleep(0.05)
    data = call_new(srv, "Personalizedtxt2imgDeleteModel", "deleteModel", body={"modelId": model_id})["body"][
        "data"
    ]
    assert data["deletedInferenceJobs"] == [job["id"]]
    # The inference lane is free at once (the engine stopped) and nothing of the job reappears.
    other = train_model(srv.new_client(), image_urls, steps=2)
    finished_inference(srv, infer(srv, other)["id"])
    assert not [f for f in blob_files(srv) if job["promptId"] in f or model_id in f]


def test_delete_a_v2_job_takes_its_internal_model(srv: Server, image_urls: list[str]) -> None:
    job = call_new(
        srv,
        "PersonalizedTextToImageAddInferenceJob",
        "addPreModelInferenceJob",
        body={"imageUrl": image_urls, "prompt": PROMPT, "trainSteps": 2},
    )["body"]["data"]
    done = finished_inference(srv, job["id"])
    assert [f for f in blob_files(srv) if done["modelId"] in f]
    call_new(
        srv, "Personalizedtxt2imgDeleteInferenceJob", "deleteInferenceJob", body={"inferenceJobId": job["id"]}
    )
    assert_404(
        srv, "Personalizedtxt2imgQueryModelTrainStatus", "queryModelTrainStatus", {"modelId": done["modelId"]}
    )
    assert_404(
        srv,
        "PersonalizedTextToImageQueryImageAsset",
        "queryImageAssetFromImageId",
        {"imageId": done["resultImageUrl"][0]},
    )
    assert not [f for f in blob_files(srv) if done["modelId"] in f or done["promptId"] in f]


def test_keep_training_photos_keeps_them_until_the_model_is_deleted(
    tmp_path: Path, base_model: Path, image_urls: list[str]
) -> None:
    with running(settings_for(tmp_path, base_model, keep_training_photos=True)) as server:
        model_id = train_model(server.new_client(), image_urls, steps=2)
        photos = [f for f in blob_files(server) if f.startswith("photos/") and model_id in f]
        assert len(photos) == len(image_urls)
        call_new(server, "Personalizedtxt2imgDeleteModel", "deleteModel", body={"modelId": model_id})
        assert not [f for f in blob_files(server) if model_id in f]


def test_other_accounts_cannot_delete(srv: Server, trained: str) -> None:
    from imprint.service import accounts, keys

    with srv.runtime.services.sessions.begin() as session:
        other = accounts.create_account(session, name="other", now=_now())
        key = keys.create_key(session, account_id=other.id, box=srv.runtime.services.box, now=_now())
    for action, path, body, code in [
        (
            "Personalizedtxt2imgDeleteModel",
            "deleteModel",
            {"modelId": trained},
            "B_MODEL_TRAIN_JOB_NOT_EXIST",
        ),
        (
            "Personalizedtxt2imgCancelModelTrainJob",
            "cancelModelTrainJob",
            {"modelId": trained},
            "B_MODEL_TRAIN_JOB_NOT_EXIST",
        ),
    ]:
        with pytest.raises(ClientException) as err:
            call_new(
                srv, action, path, body=body, access_key_id=key.access_key_id, access_key_secret=key.secret
            )
        assert err.value.code == code and err.value.status_code == 404
    with pytest.raises(ClientException) as err:
        call_new(
            srv,
            "Personalizedtxt2imgDownloadModel",
            "downloadModel",
            method="GET",
            body_type="byte",
            query={"modelId": trained},
            access_key_id=key.access_key_id,
            access_key_secret=key.secret,
        )
    assert err.value.status_code == 404
    assert (
        call_new(
            srv,
            "Personalizedtxt2imgQueryModelTrainStatus",
            "queryModelTrainStatus",
            method="GET",
            query={"modelId": trained},
        )["body"]["data"]["modelTrainStatus"]
        == "FINISHED"
    )


@pytest.fixture(scope="module")
def trained(srv: Server, image_urls: list[str]) -> str:
    return train_model(srv.new_client(), image_urls, steps=2)


def json_of(raw: bytes) -> Any:
    import json

    return json.loads(raw)["data"]


def _now():  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    return datetime.now(UTC).replace(tzinfo=None)


def test_another_processes_image_cache_notices_a_delete(srv: Server, trained: str) -> None:
    """With several API processes, the one that deletes drops its own cached images at once; another
    process's cache serves a deleted image for at most `asset_recheck_s`, then asks the database."""
    from imprint.service import assets
    from imprint.service.errors import DataNotFound

    job = finished_inference(srv, infer(srv, trained)["id"])
    services = srv.runtime.services
    account = srv.runtime.first_key.account_id  # type: ignore[union-attr]
    clock = [0.0]
    other = assets.AssetCache(1 << 20, recheck_s=2.0, clock=lambda: clock[0])

    def read() -> bytes:
        with services.sessions() as session:
            return assets.find_image(
                session,
                account_id=account,
                model_id=trained,
                prompt_id=job["promptId"],
                image_id="0000.png",
                blobs=services.blobs,
                cache=other,
            ).data

    data = read()
    call_new(
        srv, "Personalizedtxt2imgDeleteInferenceJob", "deleteInferenceJob", body={"inferenceJobId": job["id"]}
    )
    assert read() == data  # within recheck_s: from that process's memory
    clock[0] = 2.5
    with pytest.raises(DataNotFound):
        read()
