"""Isolation: account B's keys (its own, a RAM user's, a temporary one) against account A's ids, on
every operation. Another account's id must be answered exactly like an id that does not exist."""

from __future__ import annotations

import re
import statistics
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from seckit import ALLOW_ALL, Key, SecServer, Tenant

Probe = Callable[[Tenant], tuple[str, dict[str, Any]]]


def _fake_job_id(t: Tenant) -> str:
    return str(t.v2_job_id + 1_000_000)


def _fake_model() -> str:
    return f"dog_{uuid.uuid1()}"


# op -> (request made from A's ids, the same request made from ids that do not exist)
PROBES: dict[str, tuple[Probe, Probe]] = {
    "queryModelTrainStatus": (
        lambda a: ("queryModelTrainStatus", {"query": {"modelId": a.model_id}}),
        lambda a: ("queryModelTrainStatus", {"query": {"modelId": _fake_model()}}),
    ),
    "queryModelTrainStatus(v2 internal model)": (
        lambda a: ("queryModelTrainStatus", {"query": {"modelId": a.v2_model_id}}),
        lambda a: ("queryModelTrainStatus", {"query": {"modelId": _fake_model()}}),
    ),
    "addInferenceJob": (
        lambda a: ("addInferenceJob", {"body": {"modelId": a.model_id, "prompt": "a <special-token>"}}),
        lambda a: ("addInferenceJob", {"body": {"modelId": _fake_model(), "prompt": "a <special-token>"}}),
    ),
    "queryInferenceJobInfo": (
        lambda a: ("queryInferenceJobInfo", {"query": {"inferenceJobId": str(a.job_id)}}),
        lambda a: ("queryInferenceJobInfo", {"query": {"inferenceJobId": _fake_job_id(a)}}),
    ),
    "queryInferenceJobInfo(v2 job)": (
        lambda a: ("queryInferenceJobInfo", {"query": {"inferenceJobId": str(a.v2_job_id)}}),
        lambda a: ("queryInferenceJobInfo", {"query": {"inferenceJobId": _fake_job_id(a)}}),
    ),
    "queryPreModelInferenceJobInfo": (
        lambda a: ("queryPreModelInferenceJobInfo", {"query": {"inferenceJobId": str(a.v2_job_id)}}),
        lambda a: ("queryPreModelInferenceJobInfo", {"query": {"inferenceJobId": _fake_job_id(a)}}),
    ),
    "queryImageAsset": (
        lambda a: (
            "queryImageAsset",
            {"query": {"modelId": a.model_id, "promptId": a.prompt_id, "imageId": a.image_ids[0]}},
        ),
        lambda a: (
            "queryImageAsset",
            {"query": {"modelId": _fake_model(), "promptId": str(uuid.uuid1()), "imageId": a.image_ids[0]}},
        ),
    ),
    "queryImageAsset(base64)": (
        lambda a: (
            "queryImageAsset",
            {
                "query": {
                    "modelId": a.model_id,
                    "promptId": a.prompt_id,
                    "imageId": a.image_ids[1],
                    "encodeFormat": "base64",
                }
            },
        ),
        lambda a: (
            "queryImageAsset",
            {
                "query": {
                    "modelId": _fake_model(),
                    "promptId": str(uuid.uuid1()),
                    "imageId": a.image_ids[1],
                    "encodeFormat": "base64",
                }
            },
        ),
    ),
    "queryImageAssetFromImageId": (
        lambda a: ("queryImageAssetFromImageId", {"query": {"imageId": a.v2_image_ids[0]}}),
        lambda a: ("queryImageAssetFromImageId", {"query": {"imageId": uuid.uuid1().hex + "0000.png"}}),
    ),
}
PRINCIPALS = ("root", "ram-user", "sts")


@pytest.fixture(scope="module")
def intruders(server: SecServer, bob: Tenant) -> dict[str, Key]:
    user_id, user_key = server.user(bob.account_id, ALLOW_ALL)
    return {"root": bob.root, "ram-user": user_key, "sts": server.temporary(user_id)}


def _shape(resp: httpx.Response, asked: list[str]) -> dict[str, Any]:
    """Everything a caller can observe, with the echoed ids and the request id taken out."""
    body = resp.json()
    for name in ("RequestId", "requestId"):
        body.pop(name)
    text = repr(sorted(body.items()))
    for value in asked:
        # Whole values only: a job id such as "4" must not eat into httpStatusCode 404.
        text = re.sub(rf"(?<![\w-]){re.escape(value)}(?![\w-])", "<id>", text)
    headers = sorted(k for k in resp.headers if k not in ("date", "content-length"))
    return {"status": resp.status_code, "body": text, "headers": headers}


def _ids(request: dict[str, Any]) -> list[str]:
    values = {**request.get("query", {}), **request.get("body", {})}
    return sorted(
        (v for v in values.values() if isinstance(v, str) and v not in ("base64",)), key=len, reverse=True
    )


@pytest.mark.parametrize("principal", PRINCIPALS)
@pytest.mark.parametrize("probe", list(PROBES))
def test_other_accounts_ids_look_like_missing_ids(
    server: SecServer, alice: Tenant, intruders: dict[str, Key], probe: str, principal: str
) -> None:
    theirs, missing = PROBES[probe]
    op, request = theirs(alice)
    # The owner can see it (and so warms the image caches the intruder must not hit).
    assert server.call(alice.root, op, **request).status_code == 200
    key = intruders[principal]
    probed = server.call(key, op, **request)
    op2, fake = missing(alice)
    baseline = server.call(key, op2, **fake)
    assert probed.status_code == 404, probed.text
    assert _shape(probed, _ids(request)) == _shape(baseline, _ids(fake))


@pytest.mark.parametrize("principal", PRINCIPALS)
def test_mixed_ids_do_not_reach_another_accounts_images(
    server: SecServer, alice: Tenant, bob: Tenant, intruders: dict[str, Key], principal: str
) -> None:
    key = intruders[principal]
    for model_id, prompt_id in ((bob.model_id, alice.prompt_id), (alice.model_id, bob.prompt_id)):
        q = {"modelId": model_id, "promptId": prompt_id, "imageId": "0000.png"}
        assert server.call(key, "queryImageAsset", query=q).status_code == 404


@pytest.mark.parametrize("principal", PRINCIPALS)
def test_listing_shows_nothing_of_another_account(
    server: SecServer, alice: Tenant, bob: Tenant, intruders: dict[str, Key], principal: str
) -> None:
    resp = server.call(intruders[principal], "queryModelTrainJobList")
    assert resp.status_code == 200
    text = resp.text
    for secret in (
        alice.model_id,
        alice.prompt_id,
        alice.v2_model_id,
        alice.v2_prompt_id,
        *alice.image_urls,
        *alice.v2_image_ids,
        alice.account_id,
    ):
        assert secret not in text
    assert [j["modelId"] for j in resp.json()["data"]] == [bob.model_id]


@pytest.mark.parametrize("principal", PRINCIPALS)
def test_new_sdk_listing_and_status(
    server: SecServer, alice: Tenant, bob: Tenant, intruders: dict[str, Key], principal: str
) -> None:
    from alibabacloud_aicontent20240611 import models as m
    from alibabacloud_tea_openapi.exceptions import ClientException

    client = server.new_client(intruders[principal])
    listing = client.personalizedtxt_2img_query_model_train_job_list().body.data
    assert alice.model_id not in [j.model_id for j in listing]
    with pytest.raises(ClientException) as info:
        client.personalizedtxt_2img_query_model_train_status(
            m.Personalizedtxt2imgQueryModelTrainStatusRequest(model_id=alice.model_id)
        )
    assert info.value.status_code == 404 and info.value.code == "B_MODEL_TRAIN_JOB_NOT_EXIST"


@pytest.mark.parametrize("op", ["addModelTrainJob", "addPreModelInferenceJob"])
def test_jobs_created_by_one_account_stay_in_it(
    server: SecServer, alice: Tenant, intruders: dict[str, Key], op: str
) -> None:
    body = (
        {"name": "intruder", "objectType": "cat", "imageUrl": ["https://photos.example/x.png"]}
        if op == "addModelTrainJob"
        else {"imageUrl": ["https://photos.example/x.png"], "prompt": "a cat"}
    )
    created = server.call(intruders["ram-user"], op, body=body).json()["data"]
    listing = server.call(alice.root, "queryModelTrainJobList").text
    assert created["modelId"] not in listing and "intruder" not in listing
    assert (
        server.call(alice.root, "queryModelTrainStatus", query={"modelId": created["modelId"]}).status_code
        == 404
    )
    if op == "addPreModelInferenceJob":
        q = {"inferenceJobId": created["id"]}
        assert server.call(alice.root, "queryPreModelInferenceJobInfo", query=q).status_code == 404
        assert server.call(intruders["root"], "queryPreModelInferenceJobInfo", query=q).status_code == 200


@pytest.mark.parametrize(
    "probe", ["queryModelTrainStatus", "queryInferenceJobInfo", "queryImageAssetFromImageId"]
)
def test_same_timing_class(server: SecServer, alice: Tenant, intruders: dict[str, Key], probe: str) -> None:
    """Same query, same plan: the median latencies of the two answers stay within a small factor."""
    theirs, missing = PROBES[probe]
    key = intruders["root"]
    samples: dict[str, list[float]] = {"theirs": [], "missing": []}
    for _ in range(25):
        for label, make in (("theirs", theirs), ("missing", missing)):
            op, request = make(alice)
            started = time.perf_counter()
            assert server.call(key, op, **request).status_code == 404
            samples[label].append(time.perf_counter() - started)
    a, b = statistics.median(samples["theirs"]), statistics.median(samples["missing"])
    assert max(a, b) / min(a, b) < 2.0 or abs(a - b) < 0.003, (a, b)


def test_a_v1_image_id_alone_resolves_only_in_the_callers_account(
    server: SecServer, alice: Tenant, bob: Tenant
) -> None:
    """Both accounts own a "0000.png"; the id-only lookup gives each its own, never the other's."""

    def fetch(key: Key) -> bytes:
        resp = server.call(key, "queryImageAssetFromImageId", query={"imageId": "0000.png"})
        assert resp.status_code == 200
        return resp.content

    def owned(t: Tenant) -> bytes:
        q = {"modelId": t.model_id, "promptId": t.prompt_id, "imageId": "0000.png"}
        return server.call(t.root, "queryImageAsset", query=q).content

    assert fetch(alice.root) == owned(alice) != owned(bob) == fetch(bob.root)
