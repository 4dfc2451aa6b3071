"""The upload operation: photos sent to imprint itself, vetted, kept per account, and trained on
through `imprint://upload/<id>` URLs, called through both official SDKs' generic calls."""

from __future__ import annotations

import io
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alibabacloud_tea_openapi import models as open_api_models
from alibabacloud_tea_openapi.exceptions import ClientException
from alibabacloud_tea_util import models as util_models
from apikit import Server, png_bytes, running, settings_for, wait_for
from Tea.exceptions import TeaException

from imprint.service import accounts, keys, policies, users
from imprint.service.uploads import upload_key
from imprint.store.rows import UploadRow

PATH = "/api/v1/personalizedtxt2img/uploadImage"
ACTION = "Personalizedtxt2imgUploadImage"


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def upload(server: Server, data: bytes, **client: str) -> dict:
    """The new SDK's generic call with the photo as a binary body, as docs/api-decisions.md shows it."""
    params = open_api_models.Params(action=ACTION, version="20240611", protocol="HTTP", method="POST",
                                    auth_type="AK", style="ROA", pathname=PATH, req_body_type="binary",
                                    body_type="json")
    request = open_api_models.OpenApiRequest(stream=io.BytesIO(data))
    return server.new_client(**client).call_api(params, request, util_models.RuntimeOptions())["body"]


def call(server: Server, action: str, path: str, body: dict, **client: str) -> dict:
    params = open_api_models.Params(action=action, version="20240611", protocol="HTTP", method="POST",
                                    auth_type="AK", style="ROA", pathname=path, req_body_type="json",
                                    body_type="json")
    request = open_api_models.OpenApiRequest(body=body)
    return server.new_client(**client).call_api(params, request, util_models.RuntimeOptions())["body"]


def other_account(server: Server) -> dict[str, str]:
    services = server.runtime.services
    with services.sessions.begin() as s:
        account = accounts.create_account(s, name="other", now=_now())
        new = keys.create_key(s, box=services.box, account_id=account.id, now=_now())
    return {"access_key_id": new.access_key_id, "access_key_secret": new.secret}


def test_upload_then_train_on_it(server: Server) -> None:
    photos = [png_bytes(i) for i in range(2)]
    answers = [upload(server, p)["data"] for p in photos]
    for answer, photo in zip(answers, photos, strict=True):
        assert answer["imageUrl"] == f"imprint://upload/{answer['uploadId']}"
        assert (answer["format"], answer["size"]) == ("PNG", len(photo))
        assert answer["width"] > 0 and answer["height"] > 0
    job = call(server, "Personalizedtxt2imgAddModelTrainJob", "/api/v1/personalizedtxt2img/addModelTrainJob",
               {"name": "uploaded", "objectType": "dog", "imageUrl": [a["imageUrl"] for a in answers],
                "trainSteps": 2})["data"]
    client = server.new_client()
    from alibabacloud_aicontent20240611 import models as m

    status = wait_for(lambda: client.personalizedtxt_2img_query_model_train_status(
        m.Personalizedtxt2imgQueryModelTrainStatusRequest(model_id=job["modelId"])).body,
        lambda body: body.data.model_train_status)
    assert status.data.model_train_status == "FINISHED", status.to_map()
    # An upload serves the training that names it: rows and blobs are gone once it has ended.
    assert not _upload_rows(server, [a["uploadId"] for a in answers])
    assert not _upload_blobs(server)


def _upload_rows(server: Server, ids: list[str]) -> list[UploadRow]:
    with server.runtime.services.sessions() as s:
        return [row for i in ids if (row := s.get(UploadRow, i)) is not None]


def _upload_blobs(server: Server, ids: list[str] | None = None) -> list[Path]:
    root = server.runtime.services.settings.blob_root / "uploads"
    found = [p for p in root.rglob("*") if p.is_file()] if root.exists() else []
    return [p for p in found if ids is None or p.name in ids]


def test_photos_are_kept_under_the_callers_account(server: Server) -> None:
    answer = upload(server, png_bytes(5))["data"]
    services = server.runtime.services
    account = services.keys.get(server.access_key_id).account_id
    assert services.blobs.read_bytes(upload_key(account, answer["uploadId"])) == png_bytes(5)
    with services.sessions() as s:
        row = s.get(UploadRow, answer["uploadId"])
        assert row is not None and row.account_id == account and row.sha256 == answer["sha256"]


def test_another_account_cannot_train_on_an_upload(server: Server) -> None:
    url = upload(server, png_bytes(3))["data"]["imageUrl"]
    other = other_account(server)
    with pytest.raises(ClientException) as caught:
        call(server, "Personalizedtxt2imgAddModelTrainJob", "/api/v1/personalizedtxt2img/addModelTrainJob",
             {"name": "stolen", "objectType": "dog", "imageUrl": [url]}, **other)
    assert caught.value.code == "B_PARAMETER_INVALID_EXCEPTION"
    assert "no upload" in caught.value.message and "in this account" in caught.value.message
    # Its own upload id spelt into the URL works for the other account, so the refusal is ownership.
    own = upload(server, png_bytes(4), **other)["data"]["imageUrl"]
    job = call(server, "Personalizedtxt2imgAddModelTrainJob", "/api/v1/personalizedtxt2img/addModelTrainJob",
               {"name": "own", "objectType": "dog", "imageUrl": [own], "trainSteps": 1}, **other)
    assert job["data"]["modelId"].startswith("dog_")


def test_worker_reads_uploads_of_the_jobs_account_only(server: Server) -> None:
    """Even a job that slipped past the submit check reads nothing of another account."""
    from imprint.ingest import ImageFetchError, fetch_images
    from imprint.ingest.policy import FetchPolicy
    from imprint.service.uploads import upload_reader

    url = upload(server, png_bytes(6))["data"]["imageUrl"]
    blobs = server.runtime.services.blobs
    with pytest.raises(ImageFetchError, match="no such upload in this account"):
        fetch_images([url], FetchPolicy(), uploads=upload_reader(blobs, "some-other-account"))
    with pytest.raises(ImageFetchError, match="uploaded photos cannot be used here"):
        fetch_images([url], FetchPolicy())


@pytest.mark.parametrize(("data", "why"), [
    (b"<html><body>not a photo</body></html>", "HTML"),
    (b"%PDF-1.4 something", "not an image in an accepted format"),
])
def test_non_images_are_refused_with_the_reason(server: Server, data: bytes, why: str) -> None:
    with pytest.raises(ClientException) as caught:
        upload(server, data)
    assert caught.value.code == "B_PARAMETER_INVALID_EXCEPTION"
    assert "'body'" in caught.value.message and why in caught.value.message


def test_too_large_a_photo_is_a_413(tmp_path: Path, base_model: Path) -> None:
    # A 1 MiB limit rather than the default 20: the new SDK reads a stream body 1 KiB at a time into
    # one bytes object (quadratic), which made a 20 MiB upload cost 16 s of the client's CPU here.
    limit = 1024 * 1024
    settings = settings_for(tmp_path, base_model, max_image_bytes=limit)
    with running(settings) as own, pytest.raises(TeaException) as caught:
        upload(own, b"\x89PNG" + bytes(limit))
    assert caught.value.code == "B_REQUEST_BODY_TOO_LARGE_EXCEPTION"


def test_malformed_upload_url_is_a_400(server: Server) -> None:
    with pytest.raises(ClientException) as caught:
        call(server, "Personalizedtxt2imgAddModelTrainJob", "/api/v1/personalizedtxt2img/addModelTrainJob",
             {"name": "x", "objectType": "dog", "imageUrl": ["imprint://upload/../../etc/passwd"]})
    assert "is not an upload URL" in caught.value.message


def test_old_sdk_common_request_uploads(server: Server) -> None:
    from aliyunsdkcore.request import CommonRequest

    request = CommonRequest(domain=server.endpoint, version="20240611", action_name=ACTION,
                            uri_pattern=PATH)
    request.set_method("POST")
    request.set_protocol_type("http")
    request.add_header("Content-Type", "application/octet-stream")
    request.set_content(png_bytes(7))
    answer = json.loads(server.old_client().do_action_with_exception(request))
    assert answer["data"]["imageUrl"].startswith("imprint://upload/")


def ram_user(server: Server, *actions: str) -> dict[str, str]:
    """A RAM user of the server's account allowed exactly `actions`, and its key."""
    services = server.runtime.services
    account_id = services.keys.get(server.access_key_id).account_id
    name = f"u{len(actions)}{abs(hash(actions)) % 10**8}"
    document = {"Version": "1", "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": "*"}]}
    with services.sessions.begin() as s:
        user = users.create_user(s, account_id=account_id, name=name, now=_now())
        policies.create_policy(s, account_id=account_id, name=name, document=document, now=_now())
        policies.attach(s, user_id=user.id, policy_name=name, now=_now())
        new = keys.create_key(s, box=services.box, account_id=None, user_id=user.id, now=_now())
    return {"access_key_id": new.access_key_id, "access_key_secret": new.secret}


def test_uploading_is_its_own_ram_action(server: Server) -> None:
    reader = ram_user(server, "aicontent:Personalizedtxt2imgQueryModelTrainJobList")
    with pytest.raises(ClientException) as caught:
        upload(server, png_bytes(40), **reader)
    assert caught.value.code == "B_PERMISSION_DENIED_EXCEPTION"
    assert "aicontent:Personalizedtxt2imgUploadImage" in caught.value.message
    uploader = ram_user(server, "aicontent:Personalizedtxt2imgUploadImage")
    assert upload(server, png_bytes(40), **uploader)["data"]["imageUrl"].startswith("imprint://upload/")


def test_deleting_a_model_removes_the_uploads_it_names(server: Server) -> None:
    ids = [upload(server, png_bytes(20 + i))["data"]["uploadId"] for i in range(2)]
    job = call(server, "Personalizedtxt2imgAddModelTrainJob", "/api/v1/personalizedtxt2img/addModelTrainJob",
               {"name": "short-lived", "objectType": "dog", "trainSteps": 500,
                "imageUrl": [f"imprint://upload/{i}" for i in ids]})["data"]
    call(server, "Personalizedtxt2imgDeleteModel", "/api/v1/personalizedtxt2img/deleteModel",
         {"modelId": job["modelId"]})
    assert not _upload_rows(server, ids)
    deadline = time.monotonic() + 30  # a training that had started removes what it read when it stops
    while _upload_blobs(server, ids):
        assert time.monotonic() < deadline, _upload_blobs(server, ids)
        time.sleep(0.1)


def test_retention_sweeps_uploads_never_trained_on(tmp_path: Path, base_model: Path) -> None:
    settings = settings_for(tmp_path, base_model, retention_days=1, retention_sweep_s=0.1)
    with running(settings) as own:
        sweeper = own.runtime.sweeper
        assert sweeper is not None
        upload_id = upload(own, png_bytes(30))["data"]["uploadId"]
        assert _upload_rows(own, [upload_id]) and _upload_blobs(own, [upload_id])
        sweeper.clock = lambda: _now() + timedelta(days=1, minutes=1)
        deadline = time.monotonic() + 30
        while _upload_rows(own, [upload_id]) or _upload_blobs(own, [upload_id]):
            assert time.monotonic() < deadline, "the upload was never swept"
            time.sleep(0.1)
