"""Request and job limits: body size (413 with its own code), prompt length, imageNumber, and the
number of unfinished jobs one account may have (beyond it: TOO_MANY_INFERENCE_REQUESTS)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from alibabacloud_aicontent20240611 import models as m
from alibabacloud_tea_openapi.exceptions import ClientException
from seckit import PREFIX, SecServer, Tenant, running, settings

from imprint.store.rows import InferenceJobRow

TOO_LARGE = "B_REQUEST_BODY_TOO_LARGE_EXCEPTION"
LIMIT = 1024 * 1024


def _too_large(resp: httpx.Response) -> None:
    assert resp.status_code == 413, resp.text
    body = resp.json()
    assert body["Code"] == body["errCode"] == TOO_LARGE and str(LIMIT) in body["Message"]


def test_declared_oversized_body_is_refused_before_anything_else(server: SecServer, alice: Tenant) -> None:
    big = b'{"prompt": "' + b"a" * LIMIT + b'"}'
    _too_large(server.call(alice.root, "addInferenceJob", raw=big))
    _too_large(httpx.post(f"http://{server.endpoint}{PREFIX}addInferenceJob", content=big))  # unsigned too


def test_chunked_oversized_body_is_cut_off_while_reading(server: SecServer) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(40):
            yield b"x" * 65536

    resp = httpx.post(
        f"http://{server.endpoint}{PREFIX}addModelTrainJob",
        content=chunks(),
        headers={"content-type": "application/json"},
    )
    assert "content-length" not in resp.request.headers
    _too_large(resp)


def test_a_body_at_the_limit_is_read(server: SecServer, alice: Tenant) -> None:
    body = b'{"modelId": "dog_missing", "prompt": "a", "pad": "' + b"a" * (LIMIT - 60) + b'"}'
    assert len(body) <= LIMIT
    assert server.call(alice.root, "addInferenceJob", raw=body).status_code == 404


def test_new_sdk_reads_the_413(server: SecServer, alice: Tenant) -> None:
    with pytest.raises(ClientException) as info:
        server.new_client(alice.root).personalizedtxt_2img_add_inference_job(
            m.Personalizedtxt2imgAddInferenceJobRequest(model_id=alice.model_id, prompt="a" * (LIMIT + 1))
        )
    assert info.value.status_code == 413 and info.value.code == TOO_LARGE


@pytest.mark.parametrize(
    ("prompt", "status"), [("a" * 2000, 200), ("a" * 2001, 400), ("   ", 400), ("", 400)]
)
def test_prompt_length(server: SecServer, tmp_account: Tenant, prompt: str, status: int) -> None:
    resp = server.call(
        tmp_account.root, "addInferenceJob", body={"modelId": tmp_account.model_id, "prompt": prompt}
    )
    assert resp.status_code == status, resp.text
    if status == 400:
        assert "prompt" in resp.json()["Message"]


@pytest.mark.parametrize(
    ("number", "stored"),
    [
        (1, 1),
        (10, 10),
        (11, 10),
        (2**31 - 1, 10),
        (0, None),
        (-3, None),
        (2**31, None),
        (2**70, None),
        (1.0, None),
        ("2", None),
    ],
)
def test_image_number(server: SecServer, tmp_account: Tenant, number: object, stored: int | None) -> None:
    resp = server.call(
        tmp_account.root,
        "addInferenceJob",
        body={"modelId": tmp_account.model_id, "prompt": "a", "imageNumber": number},
    )
    if stored is None:
        assert resp.status_code == 400 and "imageNumber" in resp.json()["Message"], resp.text
        return
    assert resp.status_code == 200, resp.text
    with server.sessions() as s:
        assert s.get_one(InferenceJobRow, int(resp.json()["data"]["id"])).image_number == stored


@pytest.fixture
def tmp_account(server: SecServer) -> Tenant:
    """A fresh account per test, so the jobs made here never meet the per-account bound."""
    return server.seed(server.account("limits"), ["https://photos.example/l.png"])


@pytest.fixture(scope="module")
def bounded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecServer]:
    with running(
        settings(tmp_path_factory.mktemp("bounded"), max_active_jobs_per_account=3, inference_queue_size=100)
    ) as srv:
        yield srv


def test_unfinished_jobs_per_account(bounded: SecServer) -> None:
    busy = bounded.seed(bounded.account("busy"), ["https://photos.example/b.png"])
    calm = bounded.seed(bounded.account("calm"), ["https://photos.example/c.png"])
    train = {"name": "t", "objectType": "dog", "imageUrl": ["https://photos.example/b.png"]}
    infer = {"modelId": busy.model_id, "prompt": "a <special-token>"}
    v2 = {"imageUrl": ["https://photos.example/b.png"], "prompt": "a dog"}

    def status(key, op, body):  # type: ignore[no-untyped-def]
        resp = bounded.call(key, op, body=body)
        assert resp.status_code == 200, resp.text
        return resp.json()["data"]["jobStatus"]

    admitted = [
        status(busy.root, "addModelTrainJob", train),
        status(busy.root, "addInferenceJob", infer),
        status(busy.root, "addPreModelInferenceJob", v2),
    ]
    assert admitted == ["SUBMITTED"] * 3
    for op, body in (
        ("addModelTrainJob", train),
        ("addInferenceJob", infer),
        ("addPreModelInferenceJob", v2),
    ):
        assert status(busy.root, op, body) == "TOO_MANY_INFERENCE_REQUESTS"
    # Another account is not affected by the busy one.
    calm_infer = {"modelId": calm.model_id, "prompt": "a <special-token>"}
    assert status(calm.root, "addInferenceJob", calm_infer) == "SUBMITTED"
    # A refused training never runs and is reported as such.
    listing = bounded.call(busy.root, "queryModelTrainJobList").json()["data"]
    assert sorted(j["jobStatus"] for j in listing).count("TOO_MANY_INFERENCE_REQUESTS") == 1
    assert bounded.runtime.queue._pending  # admitted jobs were enqueued ...
    refused = {j["id"] for j in listing if j["jobStatus"] == "TOO_MANY_INFERENCE_REQUESTS"}
    assert not any(
        str(job_id) in refused for kind, job_id in bounded.runtime.queue._pending if kind == "train"
    )
