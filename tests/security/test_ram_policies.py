"""RAM policies that allow, deny, and deny by condition, through the real server and both SDKs."""

from __future__ import annotations

import json
from typing import Any

import pytest
from alibabacloud_aicontent20240611 import models as m
from alibabacloud_tea_openapi.exceptions import ClientException
from seckit import ALLOW_ALL, OPS, Key, SecServer, png, policy

DENIED = "B_PERMISSION_DENIED_EXCEPTION"
QUERIES_ONLY = policy(
    {
        "Effect": "Allow",
        "Action": ["aicontent:Personalizedtxt2imgQuery*", "aicontent:PersonalizedTextToImageQuery*"],
        "Resource": "*",
    }
)
TRAIN = m.Personalizedtxt2imgAddModelTrainJobRequest(
    name="x", object_type="dog", image_url=["https://photos.example/a.png"]
)
# Parameters that make every operation pass validation and reach its lookup (and then 404) or run.
PARAMS: dict[str, dict[str, Any]] = {
    "addModelTrainJob": {
        "body": {"name": "x", "objectType": "dog", "imageUrl": ["https://photos.example/a.png"]}
    },
    "queryModelTrainStatus": {"query": {"modelId": "dog_missing"}},
    "queryModelTrainJobList": {},
    "addInferenceJob": {"body": {"modelId": "dog_missing", "prompt": "a <special-token>"}},
    "queryInferenceJobInfo": {"query": {"inferenceJobId": "987654321"}},
    "queryImageAsset": {"query": {"modelId": "dog_missing", "promptId": "p", "imageId": "0000.png"}},
    "addPreModelInferenceJob": {
        "body": {"imageUrl": ["https://photos.example/a.png"], "prompt": "a <special-token> dog"}
    },
    "queryPreModelInferenceJobInfo": {"query": {"inferenceJobId": "987654321"}},
    "queryImageAssetFromImageId": {"query": {"imageId": "missing.png"}},
    "cancelModelTrainJob": {"body": {"modelId": "dog_missing"}},
    "cancelInferenceJob": {"body": {"inferenceJobId": "987654321"}},
    "deleteModel": {"body": {"modelId": "dog_missing"}},
    "deleteInferenceJob": {"body": {"inferenceJobId": "987654321"}},
    "downloadModel": {"query": {"modelId": "dog_missing"}},
    "uploadImage": {"raw": png(1), "content_type": "application/octet-stream"},
}


@pytest.fixture(scope="module")
def tenant(server: SecServer) -> tuple[str, Key]:
    """A fresh account per module: jobs created here count against nobody else's limits."""
    root = server.account("ram-tests")
    return server.account_of(root), root


def call(server: SecServer, key: Key, op: str, **kw: Any) -> Any:
    return server.call(key, op, **{**PARAMS[op], **kw})


def assert_denied(resp: Any, action: str, kind: str = "ImplicitDeny") -> dict[str, Any]:
    assert resp.status_code == 403, resp.text
    body = resp.json()
    assert body["Code"] == body["errCode"] == DENIED and body["success"] is False
    assert action in body["Message"] and body["RequestId"] == body["requestId"]
    detail = body["AccessDeniedDetail"]
    assert detail["AuthAction"] == action and detail["NoPermissionType"] == kind
    return body


def allowed(resp: Any) -> bool:
    assert resp.status_code < 500, resp.text
    return resp.status_code != 403


def test_query_only_user_is_refused_add_model_train_job_by_the_new_sdk(
    server: SecServer, tenant: tuple[str, Key]
) -> None:
    _, key = server.user(tenant[0], QUERIES_ONLY)
    client = server.new_client(key)
    with pytest.raises(ClientException) as info:
        client.personalizedtxt_2img_add_model_train_job(TRAIN)
    exc = info.value
    assert exc.status_code == 403 and exc.code == DENIED
    assert "aicontent:Personalizedtxt2imgAddModelTrainJob" in exc.message and exc.request_id
    assert exc.access_denied_detail["NoPermissionType"] == "ImplicitDeny"
    assert exc.access_denied_detail["AuthAction"] == "aicontent:Personalizedtxt2imgAddModelTrainJob"
    assert isinstance(client.personalizedtxt_2img_query_model_train_job_list().body.data, list)


def test_query_only_user_is_refused_with_v2_signatures_and_async(
    server: SecServer, tenant: tuple[str, Key]
) -> None:
    import asyncio

    _, key = server.user(tenant[0], QUERIES_ONLY)
    with pytest.raises(ClientException) as info:
        server.new_client(key, signature_algorithm="v2").personalizedtxt_2img_add_model_train_job(TRAIN)
    assert info.value.code == DENIED and "Personalizedtxt2imgAddModelTrainJob" in info.value.message
    with pytest.raises(ClientException) as info:
        asyncio.run(server.new_client(key).personalizedtxt_2img_add_model_train_job_async(TRAIN))
    assert info.value.code == DENIED and info.value.status_code == 403


def test_query_only_user_is_refused_by_the_old_sdk(server: SecServer, tenant: tuple[str, Key]) -> None:
    from aliyunsdkaicontent.request.v20240611.Personalizedtxt2imgAddModelTrainJobRequest import (
        Personalizedtxt2imgAddModelTrainJobRequest,
    )
    from aliyunsdkaicontent.request.v20240611.Personalizedtxt2imgQueryModelTrainJobListRequest import (
        Personalizedtxt2imgQueryModelTrainJobListRequest,
    )
    from aliyunsdkcore.acs_exception.exceptions import ServerException

    _, key = server.user(tenant[0], QUERIES_ONLY)
    request = Personalizedtxt2imgAddModelTrainJobRequest()
    request.set_body(json.dumps(PARAMS["addModelTrainJob"]["body"]))
    with pytest.raises(ServerException) as info:
        server.old_call(key, request)
    assert info.value.get_http_status() == 403 and info.value.get_error_code() == DENIED
    assert "aicontent:Personalizedtxt2imgAddModelTrainJob" in info.value.get_error_msg()
    assert info.value.get_request_id()
    listing = json.loads(server.old_call(key, Personalizedtxt2imgQueryModelTrainJobListRequest()))
    assert listing["success"] is True


@pytest.mark.parametrize("op", list(OPS))
def test_a_user_without_policies_may_do_nothing(server: SecServer, tenant: tuple[str, Key], op: str) -> None:
    _, key = server.user(tenant[0])
    assert_denied(call(server, key, op), OPS[op][1])


@pytest.mark.parametrize("op", list(OPS))
def test_the_accounts_own_key_may_do_everything(server: SecServer, tenant: tuple[str, Key], op: str) -> None:
    assert allowed(call(server, tenant[1], op))


@pytest.mark.parametrize("op", list(OPS))
def test_allow_naming_exactly_the_operations_ram_action(
    server: SecServer, tenant: tuple[str, Key], op: str
) -> None:
    ram_action = OPS[op][1]
    _, key = server.user(tenant[0], policy({"Effect": "Allow", "Action": ram_action, "Resource": "*"}))
    assert allowed(call(server, key, op))
    others = [o for o in OPS if o != op]
    assert_denied(call(server, key, others[0]), OPS[others[0]][1])


def test_pre_model_job_is_authorized_by_its_documented_ram_action_not_its_api_name(
    server: SecServer, tenant: tuple[str, Key]
) -> None:
    _, by_api_name = server.user(
        tenant[0],
        policy(
            {"Effect": "Allow", "Action": "aicontent:PersonalizedTextToImageAddInferenceJob", "Resource": "*"}
        ),
    )
    assert_denied(
        call(server, by_api_name, "addPreModelInferenceJob"),
        "aicontent:PersonalizedTextToImageAddPreModelInferenceJob",
    )


def test_explicit_deny_wins_over_any_allow(server: SecServer, tenant: tuple[str, Key]) -> None:
    deny = policy(
        {"Effect": "Deny", "Action": "aicontent:Personalizedtxt2imgAddInferenceJob", "Resource": "*"}
    )
    _, key = server.user(tenant[0], ALLOW_ALL, deny, system=("AliyunAiContentFullAccess",))
    assert_denied(
        call(server, key, "addInferenceJob"), "aicontent:Personalizedtxt2imgAddInferenceJob", "ExplicitDeny"
    )
    assert allowed(call(server, key, "queryModelTrainJobList"))


def test_not_action_and_case_insensitive_actions(server: SecServer, tenant: tuple[str, Key]) -> None:
    _, key = server.user(
        tenant[0], policy({"Effect": "Allow", "NotAction": "aicontent:*Add*", "Resource": "*"})
    )
    assert allowed(call(server, key, "queryModelTrainStatus"))
    assert_denied(call(server, key, "addModelTrainJob"), "aicontent:Personalizedtxt2imgAddModelTrainJob")
    _, upper = server.user(
        tenant[0],
        policy(
            {
                "Effect": "Allow",
                "Action": "AICONTENT:PERSONALIZEDTXT2IMGQUERYMODELTRAINJOBLIST",
                "Resource": "*",
            }
        ),
    )
    assert allowed(call(server, upper, "queryModelTrainJobList"))


@pytest.mark.parametrize(
    ("resource", "ok"),
    [
        ("*", True),
        ("acs:aicontent:*:*:*", True),
        ("acs:aicontent:cn-shanghai:{account}:*", True),
        ("acs:aicontent:*:{account}:*", True),
        ("acs:aicontent:*:1000000000000000:*", False),  # another account's resources grant nothing here
        ("acs:aicontent:*:*:model/*", False),  # AiContent has no resource-level authorization
        ("acs:oss:*:*:*", False),
    ],
)
def test_resource_arns(server: SecServer, tenant: tuple[str, Key], resource: str, ok: bool) -> None:
    doc = policy({"Effect": "Allow", "Action": "aicontent:*", "Resource": resource.format(account=tenant[0])})
    _, key = server.user(tenant[0], doc)
    resp = call(server, key, "queryModelTrainJobList")
    if ok:
        assert allowed(resp)
    else:
        assert_denied(resp, "aicontent:Personalizedtxt2imgQueryModelTrainJobList")


def _conditional(condition: dict[str, Any], effect: str = "Allow") -> dict[str, Any]:
    statements = [{"Effect": effect, "Action": "aicontent:*", "Resource": "*", "Condition": condition}]
    if effect == "Deny":
        statements.append({"Effect": "Allow", "Action": "aicontent:*", "Resource": "*"})
    return policy(*statements)


@pytest.mark.parametrize(
    ("condition", "effect", "ok"),
    [
        ({"IpAddress": {"acs:SourceIp": "127.0.0.0/8"}}, "Allow", True),
        ({"IpAddress": {"acs:SourceIp": ["10.0.0.0/8", "192.168.0.0/16"]}}, "Allow", False),
        ({"NotIpAddress": {"acs:SourceIp": "127.0.0.1"}}, "Deny", True),
        ({"NotIpAddress": {"acs:SourceIp": "10.0.0.0/8"}}, "Deny", False),
        ({"Bool": {"acs:SecureTransport": "true"}}, "Allow", False),  # the test server speaks plain http
        ({"Bool": {"acs:SecureTransport": "false"}}, "Deny", False),
        ({"DateLessThan": {"acs:CurrentTime": "2000-01-01T00:00:00Z"}}, "Allow", False),
        ({"DateGreaterThan": {"acs:CurrentTime": "2000-01-01T00:00:00+08:00"}}, "Allow", True),
        ({"DateGreaterThan": {"acs:CurrentTime": "2000-01-01T00:00:00Z"}}, "Deny", False),
        ({"StringEquals": {"acs:MFAPresent": "true"}}, "Allow", False),  # a key the server never sets
    ],
)
def test_conditions_on_the_real_connection(
    server: SecServer, tenant: tuple[str, Key], condition: dict[str, Any], effect: str, ok: bool
) -> None:
    _, key = server.user(tenant[0], _conditional(condition, effect))
    resp = call(server, key, "queryModelTrainJobList")
    if ok:
        assert allowed(resp)
    else:
        assert_denied(
            resp,
            "aicontent:Personalizedtxt2imgQueryModelTrainJobList",
            "ExplicitDeny" if effect == "Deny" else "ImplicitDeny",
        )


def test_forwarded_headers_are_not_believed_without_a_trusted_proxy(
    server: SecServer, tenant: tuple[str, Key]
) -> None:
    _, key = server.user(tenant[0], _conditional({"IpAddress": {"acs:SourceIp": "203.0.113.0/24"}}))
    spoof = {
        "X-Forwarded-For": "203.0.113.7",
        "X-Forwarded-Proto": "https",
        "X-Real-IP": "203.0.113.7",
        "Forwarded": "for=203.0.113.7;proto=https",
    }
    assert_denied(
        call(server, key, "queryModelTrainJobList", headers=spoof),
        "aicontent:Personalizedtxt2imgQueryModelTrainJobList",
    )
    # Signing the header does not make it true either.
    assert_denied(
        call(server, key, "queryModelTrainJobList", signed_headers={"x-forwarded-for": "203.0.113.7"}),
        "aicontent:Personalizedtxt2imgQueryModelTrainJobList",
    )


def test_policy_changes_apply_to_the_next_call(server: SecServer, tenant: tuple[str, Key]) -> None:
    from imprint.runtime import utcnow
    from imprint.service import policies

    user_id, key = server.user(tenant[0], system=("AliyunAiContentReadOnlyAccess",))
    assert allowed(call(server, key, "queryModelTrainJobList"))
    assert_denied(call(server, key, "addModelTrainJob"), "aicontent:Personalizedtxt2imgAddModelTrainJob")
    with server.sessions.begin() as s:
        policies.detach(s, user_id=user_id, policy_name="AliyunAiContentReadOnlyAccess", policy_type="System")
    assert_denied(
        call(server, key, "queryModelTrainJobList"), "aicontent:Personalizedtxt2imgQueryModelTrainJobList"
    )
    with server.sessions.begin() as s:
        policies.attach(
            s, user_id=user_id, policy_name="AliyunAiContentFullAccess", policy_type="System", now=utcnow()
        )
    assert allowed(call(server, key, "addModelTrainJob"))


def test_a_denied_caller_learns_nothing_about_ids(
    server: SecServer, tenant: tuple[str, Key], alice: Any
) -> None:
    """Authorization runs before any lookup: an existing and a missing id are refused alike."""
    _, key = server.user(alice.account_id)
    real = call(server, key, "queryModelTrainStatus", query={"modelId": alice.model_id}).json()
    fake = call(server, key, "queryModelTrainStatus", query={"modelId": "dog_missing"}).json()
    for body in (real, fake):
        body.pop("RequestId"), body.pop("requestId")
    assert real == fake
