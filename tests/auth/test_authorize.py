"""The authorization step as a pure function of principal, policies and context."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import pytest

from imprint.auth import AccessDenied, Principal, RequestContext, authorize, resource_arn

ACTION = "aicontent:Personalizedtxt2imgAddModelTrainJob"
RESOURCE = resource_arn("cn-shanghai", "1234")
CTX = RequestContext(source_ip="127.0.0.1", current_time=datetime(2026, 1, 1), secure_transport=False)


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "1", "Statement": list(statements)}


ALLOW = doc({"Effect": "Allow", "Action": "aicontent:*", "Resource": "*"})
DENY = doc({"Effect": "Deny", "Action": ACTION, "Resource": "*"})
QUERIES = doc({"Effect": "Allow", "Action": "aicontent:*Query*", "Resource": "*"})


class Policies:
    def __init__(self, *documents: Mapping[str, Any]) -> None:
        self.documents = list(documents)
        self.asked: list[tuple[str, str]] = []

    def policies_for(self, account_id: str, user_id: str) -> Sequence[Mapping[str, Any]]:
        self.asked.append((account_id, user_id))
        return self.documents


def user(session: Mapping[str, Any] | str | None = None, temporary: bool = False) -> Principal:
    text = json.dumps(session) if isinstance(session, Mapping) else session
    return Principal("1234", "u1", "AK", temporary or session is not None, text)


def test_resource_arn() -> None:
    assert RESOURCE == "acs:aicontent:cn-shanghai:1234:*"


def test_the_accounts_own_key_needs_no_policy() -> None:
    source = Policies()
    authorize(
        Principal("1234", None, "AK", False), action=ACTION, resource=RESOURCE, context=CTX, policies=source
    )
    assert source.asked == []


@pytest.mark.parametrize(
    ("documents", "kind"),
    [
        ((), "ImplicitDeny"),
        ((QUERIES,), "ImplicitDeny"),
        ((ALLOW, DENY), "ExplicitDeny"),
        ((DENY,), "ExplicitDeny"),
    ],
)
def test_denials(documents: tuple[dict[str, Any], ...], kind: str) -> None:
    with pytest.raises(AccessDenied) as info:
        authorize(user(), action=ACTION, resource=RESOURCE, context=CTX, policies=Policies(*documents))
    exc = info.value
    assert exc.http_status == 403 and exc.code == "B_PERMISSION_DENIED_EXCEPTION"
    assert ACTION in exc.message and RESOURCE in exc.message
    assert exc.detail == {
        "PolicyType": "AccountLevelIdentityBasedPolicy",
        "AuthPrincipalOwnerId": "1234",
        "AuthPrincipalType": "SubUser",
        "AuthPrincipalDisplayName": "u1",
        "NoPermissionType": kind,
        "AuthAction": ACTION,
    }


def test_allow_asks_for_the_right_user() -> None:
    source = Policies(ALLOW)
    authorize(user(), action=ACTION, resource=RESOURCE, context=CTX, policies=source)
    assert source.asked == [("1234", "u1")]


@pytest.mark.parametrize(
    ("session", "allowed"),
    [(ALLOW, True), (QUERIES, False), (DENY, False), ("{not json", False), ({"Version": "1"}, False)],
)
def test_session_policy_is_anded(session: Any, allowed: bool) -> None:
    principal = user(session)
    if allowed:
        authorize(principal, action=ACTION, resource=RESOURCE, context=CTX, policies=Policies(ALLOW))
        return
    with pytest.raises(AccessDenied) as info:
        authorize(principal, action=ACTION, resource=RESOURCE, context=CTX, policies=Policies(ALLOW))
    assert info.value.detail["PolicyType"] == "SessionPolicy"
    assert info.value.detail["AuthPrincipalType"] == "AssumedRoleUser"


def test_session_policy_never_widens() -> None:
    with pytest.raises(AccessDenied) as info:
        authorize(user(ALLOW), action=ACTION, resource=RESOURCE, context=CTX, policies=Policies(QUERIES))
    assert info.value.detail["PolicyType"] == "AccountLevelIdentityBasedPolicy"


def test_an_invalid_stored_policy_fails_closed(caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(AccessDenied):
        authorize(
            user(),
            action=ACTION,
            resource=RESOURCE,
            context=CTX,
            policies=Policies(ALLOW, {"Version": "2", "Statement": []}),
        )
    assert "invalid" in caplog.text


def test_a_temporary_key_without_a_user_is_refused() -> None:
    with pytest.raises(AccessDenied):
        authorize(
            Principal("1234", None, "STS.x", True),
            action=ACTION,
            resource=RESOURCE,
            context=CTX,
            policies=Policies(ALLOW),
        )


def test_conditions_see_the_context() -> None:
    ip_only = doc(
        {
            "Effect": "Allow",
            "Action": "*",
            "Resource": "*",
            "Condition": {"IpAddress": {"acs:SourceIp": "10.0.0.0/8"}},
        }
    )
    with pytest.raises(AccessDenied):
        authorize(user(), action=ACTION, resource=RESOURCE, context=CTX, policies=Policies(ip_only))
    inside = RequestContext(source_ip="10.1.1.1", current_time=CTX.current_time, secure_transport=False)
    authorize(user(), action=ACTION, resource=RESOURCE, context=inside, policies=Policies(ip_only))
