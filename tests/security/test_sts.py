"""Temporary (STS-style) credentials end to end: accepted while valid, refused when expired, tampered,
mismatched or missing, and narrowed by their inline policy (user's policies AND the inline one)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from alibabacloud_aicontent20240611 import models as m
from alibabacloud_tea_openapi.exceptions import ClientException
from seckit import ALLOW_ALL, Key, SecServer, Tenant, ago, policy

from imprint.service import sts
from imprint.service.errors import InvalidParameter, MalformedPolicy, UserNotFound

QUERIES = policy({"Effect": "Allow", "Action": "aicontent:*Query*", "Resource": "*"})


@pytest.fixture(scope="module")
def user(server: SecServer, alice: Tenant) -> str:
    user_id, _ = server.user(alice.account_id, ALLOW_ALL)
    return user_id


def _code(server: SecServer, key: Key, op: str = "queryModelTrainJobList") -> tuple[int, str]:
    resp = server.call(key, op)
    return resp.status_code, resp.json().get("Code", "OK") if resp.status_code != 200 else "OK"


def test_valid_temporary_keys_work_with_every_client(server: SecServer, alice: Tenant, user: str) -> None:
    from aliyunsdkaicontent.request.v20240611.Personalizedtxt2imgQueryModelTrainStatusRequest import (
        Personalizedtxt2imgQueryModelTrainStatusRequest,
    )

    key = server.temporary(user)
    assert key.access_key_id.startswith("STS.") and key.token
    for config in ({}, {"signature_algorithm": "v2"}):
        status = server.new_client(key, **config).personalizedtxt_2img_query_model_train_status(
            m.Personalizedtxt2imgQueryModelTrainStatusRequest(model_id=alice.model_id)
        )
        assert status.body.data.model_train_status == "FINISHED"
    request = Personalizedtxt2imgQueryModelTrainStatusRequest()
    request.set_modelId(alice.model_id)
    assert json.loads(server.old_call(key, request))["data"]["modelTrainStatus"] == "FINISHED"


def test_expired_token_is_refused_by_both_sdks(server: SecServer, user: str) -> None:
    from aliyunsdkaicontent.request.v20240611.Personalizedtxt2imgQueryModelTrainJobListRequest import (
        Personalizedtxt2imgQueryModelTrainJobListRequest,
    )
    from aliyunsdkcore.acs_exception.exceptions import ServerException

    key = server.temporary(user, duration_s=900, issued_at=ago(hours=1))
    with pytest.raises(ClientException) as info:
        server.new_client(key).personalizedtxt_2img_query_model_train_job_list()
    assert info.value.code == "InvalidSecurityToken.Expired" and info.value.status_code == 400
    with pytest.raises(ServerException) as old:
        server.old_call(key, Personalizedtxt2imgQueryModelTrainJobListRequest())
    assert old.value.get_error_code() == "InvalidSecurityToken.Expired"


def test_a_token_expiring_in_the_past_second_is_expired(server: SecServer, user: str) -> None:
    key = server.temporary(user, duration_s=900, issued_at=ago(seconds=901))
    assert _code(server, key) == (400, "InvalidSecurityToken.Expired")


@pytest.mark.parametrize(
    "tamper",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),
        lambda t: t[:20] + ("x" if t[20] != "x" else "y") + t[21:],
        lambda t: t[:-5],
        lambda t: t + "A",
        lambda t: t.upper(),
        lambda t: "CAIS" + "A" * (len(t) - 4),
    ],
)
def test_tampered_tokens_are_refused(server: SecServer, user: str, tamper) -> None:  # type: ignore[no-untyped-def]
    key = server.temporary(user)
    assert _code(server, replace(key, token=tamper(key.token))) == (
        400,
        "InvalidSecurityToken.MismatchWithAccessKey",
    )
    assert _code(server, key) == (200, "OK")


def test_malformed_and_missing_tokens(server: SecServer, user: str) -> None:
    key = server.temporary(user)
    assert _code(server, replace(key, token="not a token")) == (400, "InvalidSecurityToken.Malformed")
    assert _code(server, replace(key, token=None)) == (400, "MissingSecurityToken")


def test_tokens_do_not_move_between_keys(server: SecServer, alice: Tenant, bob: Tenant, user: str) -> None:
    first, second = server.temporary(user), server.temporary(user)
    assert _code(server, replace(first, token=second.token)) == (
        400,
        "InvalidSecurityToken.MismatchWithAccessKey",
    )
    other_user, _ = server.user(bob.account_id, ALLOW_ALL)
    theirs = server.temporary(other_user)
    assert _code(server, replace(first, token=theirs.token)) == (
        400,
        "InvalidSecurityToken.MismatchWithAccessKey",
    )
    # A permanent key presented with a token (someone else's) is refused too.
    assert _code(server, replace(alice.root, token=first.token)) == (
        400,
        "InvalidSecurityToken.MismatchWithAccessKey",
    )


def test_forged_keys_and_wrong_secrets(server: SecServer, user: str) -> None:
    key = server.temporary(user)
    assert _code(server, replace(key, access_key_id="STS.4PTEewpRspendWV9Jow50qC9")) == (
        404,
        "InvalidAccessKeyId.NotFound",
    )
    # Another last character: a secret that already ends in "x" would otherwise be left unchanged.
    wrong = key.secret[:-1] + ("x" if key.secret[-1] != "x" else "y")
    assert _code(server, replace(key, secret=wrong)) == (400, "SignatureDoesNotMatch")
    # An expired token with a wrong signature says only that the signature is wrong.
    expired = server.temporary(user, duration_s=900, issued_at=ago(hours=2))
    assert _code(server, replace(expired, secret="y" * 40)) == (400, "SignatureDoesNotMatch")


def test_inline_policy_narrows_the_users_permissions(server: SecServer, user: str) -> None:
    key = server.temporary(user, inline=QUERIES)
    assert _code(server, key) == (200, "OK")
    resp = server.call(
        key,
        "addModelTrainJob",
        body={"name": "x", "objectType": "dog", "imageUrl": ["https://photos.example/a.png"]},
    )
    assert resp.status_code == 403
    detail = resp.json()["AccessDeniedDetail"]
    assert detail["PolicyType"] == "SessionPolicy" and detail["AuthPrincipalType"] == "AssumedRoleUser"
    deny = policy(
        {"Effect": "Allow", "Action": "aicontent:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "aicontent:*List*", "Resource": "*"},
    )
    denied = server.call(server.temporary(user, inline=deny), "queryModelTrainJobList")
    assert (
        denied.status_code == 403
        and denied.json()["AccessDeniedDetail"]["NoPermissionType"] == "ExplicitDeny"
    )


def test_inline_policy_cannot_widen_the_users_permissions(server: SecServer, alice: Tenant) -> None:
    user_id, _ = server.user(alice.account_id, QUERIES)
    key = server.temporary(user_id, inline=ALLOW_ALL)
    assert _code(server, key) == (200, "OK")
    resp = server.call(key, "addInferenceJob", body={"modelId": alice.model_id, "prompt": "a"})
    assert resp.status_code == 403 and resp.json()["AccessDeniedDetail"]["PolicyType"] != "SessionPolicy"


def test_deleting_the_user_revokes_its_temporary_keys(server: SecServer, alice: Tenant) -> None:
    from imprint.service import users

    user_id, _ = server.user(alice.account_id, ALLOW_ALL)
    key = server.temporary(user_id)
    assert _code(server, key) == (200, "OK")
    with server.sessions.begin() as s:
        users.delete_user(s, user_id=user_id)
    assert _code(server, key) == (404, "InvalidAccessKeyId.NotFound")


def test_issuing_rules(server: SecServer, user: str) -> None:
    box = server.runtime.services.box
    with server.sessions() as s:
        for duration in (899, 43201, 0):
            with pytest.raises(InvalidParameter):
                sts.issue(s, box=box, user_id=user, now=ago(), duration_s=duration)
        with pytest.raises(MalformedPolicy):
            sts.issue(s, box=box, user_id=user, now=ago(), policy={"Version": "1", "Statement": []})
        with pytest.raises(MalformedPolicy):
            sts.issue(s, box=box, user_id=user, now=ago(), policy="{not json")
        with pytest.raises(UserNotFound):
            sts.issue(s, box=box, user_id="1234", now=ago())
