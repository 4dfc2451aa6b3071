"""Per-AccessKey rate limiting, answered so that the new SDK raises ThrottlingException (a 429 with
a positive integer x-acs-retry-after, in milliseconds) and the old SDK reads Throttling.User."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace

import httpx
import pytest
from alibabacloud_tea_openapi.exceptions import ThrottlingException
from seckit import Key, SecServer, running, settings

from imprint.api.ratelimit import TokenBucketLimiter, Unlimited, make_limiter

BURST = 3
# Enough calls to empty a bucket refilled at 2/s even when each call is slow on a loaded machine.
TRIES = 30


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecServer]:
    with running(
        settings(tmp_path_factory.mktemp("limited"), rate_limit_per_s=2.0, rate_limit_burst=BURST)
    ) as srv:
        yield srv


def _drain(server: SecServer, key: Key) -> httpx.Response:
    """Calls until the first 429, which it returns."""
    for _ in range(TRIES):
        resp = server.call(key, "queryModelTrainJobList")
        if resp.status_code == 429:
            return resp
    raise AssertionError("never throttled")


def test_new_sdk_raises_throttling_exception_with_retry_after(limited: SecServer) -> None:
    key = limited.account("throttled-new")
    client = limited.new_client(key)
    with pytest.raises(ThrottlingException) as info:
        for _ in range(TRIES):
            client.personalizedtxt_2img_query_model_train_job_list()
    exc = info.value
    assert exc.status_code == 429 and exc.code == "Throttling.User" and exc.request_id
    assert isinstance(exc.retry_after, int) and 0 < exc.retry_after <= 1000
    time.sleep(exc.retry_after / 1000 + 0.05)
    assert isinstance(client.personalizedtxt_2img_query_model_train_job_list().body.data, list)


def test_old_sdk_reads_throttling_user(limited: SecServer) -> None:
    from aliyunsdkaicontent.request.v20240611.Personalizedtxt2imgQueryModelTrainJobListRequest import (
        Personalizedtxt2imgQueryModelTrainJobListRequest,
    )
    from aliyunsdkcore.acs_exception.exceptions import ServerException

    key = limited.account("throttled-old")
    with pytest.raises(ServerException) as info:
        for _ in range(TRIES):
            limited.old_call(key, Personalizedtxt2imgQueryModelTrainJobListRequest())
    assert info.value.get_error_code() == "Throttling.User" and info.value.get_http_status() == 429


def test_wire_headers_and_body(limited: SecServer) -> None:
    key = limited.account("throttled-raw")
    resp = _drain(limited, key)
    assert int(resp.headers["x-acs-retry-after"]) >= 1 and int(resp.headers["retry-after"]) >= 1
    body = resp.json()
    assert body["Code"] == body["errCode"] == "Throttling.User" and body["success"] is False


def test_limits_are_per_key(limited: SecServer) -> None:
    first = limited.account("per-key")
    _, second = limited.user(limited.account_of(first), system=("AliyunAiContentFullAccess",))
    _drain(limited, first)
    assert limited.call(second, "queryModelTrainJobList").status_code == 200


def test_forged_requests_do_not_spend_the_victims_tokens(limited: SecServer) -> None:
    victim = limited.account("victim")
    forged = replace(victim, secret="x" * 30)
    for _ in range(BURST * 3):
        assert limited.call(forged, "queryModelTrainJobList").status_code == 400
    assert limited.call(victim, "queryModelTrainJobList").status_code == 200


def test_denied_callers_are_throttled_too(limited: SecServer) -> None:
    _, nobody = limited.user(limited.account_of(limited.account("denied")))
    codes = [limited.call(nobody, "queryModelTrainJobList").status_code for _ in range(TRIES)]
    assert codes[0] == 403 and 429 in codes and set(codes) == {403, 429}


def test_token_bucket_arithmetic() -> None:
    now = [100.0]
    bucket = TokenBucketLimiter(rate=2.0, burst=3, clock=lambda: now[0])
    assert [bucket.acquire("k") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.acquire("k") == pytest.approx(0.5)
    assert bucket.acquire("other") == 0.0
    now[0] += 0.5
    assert bucket.acquire("k") == 0.0
    assert bucket.acquire("k") == pytest.approx(0.5)
    now[0] += 60
    assert [bucket.acquire("k") for _ in range(4)][-1] > 0  # refills to the burst, never beyond


def test_token_bucket_memory_is_bounded() -> None:
    bucket = TokenBucketLimiter(rate=1.0, burst=1, max_keys=10, clock=lambda: 0.0)
    for i in range(1000):
        bucket.acquire(f"k{i}")
    assert len(bucket._buckets) == 10


def test_rate_zero_turns_the_limiter_off() -> None:
    assert isinstance(make_limiter(0, 10), Unlimited) and Unlimited().acquire("k") == 0.0
    with pytest.raises(ValueError):
        TokenBucketLimiter(rate=1.0, burst=0)
