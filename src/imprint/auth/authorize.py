"""Authorization, the second step after the signature: may this principal do (action, resource)?

The account's own keys may do everything in their account. A RAM user's call is allowed only when
its attached policies allow it and none denies it (``imprint.auth.ram.evaluate``); a temporary key
issued with an inline policy must in addition be allowed by that policy, so the inline policy can
only narrow what the user may do, never widen it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any, Protocol

from imprint.auth.principal import Principal
from imprint.auth.ram import Decision, PolicyError, RequestContext, evaluate

log = logging.getLogger(__name__)

RAM_SERVICE = "aicontent"
ACCESS_DENIED = "B_PERMISSION_DENIED_EXCEPTION"
IDENTITY_POLICY = "AccountLevelIdentityBasedPolicy"
SESSION_POLICY = "SessionPolicy"


class PolicySource(Protocol):
    def policies_for(self, account_id: str, user_id: str) -> Sequence[Mapping[str, Any]]:
        """The documents of every policy attached to the user (system ones resolved)."""
        ...


def resource_arn(region: str, account_id: str) -> str:
    # AiContent authorizes no individual resource (contract §2: "All Resources"), so a call names
    # the whole account. The relative id is a literal "*": a policy scoped to a finer resource
    # ("...:model/*") then never matches, while "*", "acs:aicontent:*:*:*" and the account's own
    # ARN do, and a policy naming another account's ARN never grants anything here.
    return f"acs:{RAM_SERVICE}:{region}:{account_id}:*"


class AccessDenied(Exception):
    """A verified caller whose policies do not allow the action; 403 on the wire."""

    http_status = 403
    code = ACCESS_DENIED

    def __init__(self, principal: Principal, *, action: str, resource: str, explicit: bool,
                 policy_type: str) -> None:
        why = ("an explicit Deny statement forbids it" if explicit
               else "no attached policy allows it" if policy_type == IDENTITY_POLICY
               else "the inline policy of this temporary AccessKey does not allow it")
        self.message = f"You are not authorized to do action {action} on resource {resource}: {why}."
        super().__init__(self.message)
        # The shape the SDKs expose as access_denied_detail; it names only the caller's own identity.
        self.detail = {
            "PolicyType": policy_type,
            "AuthPrincipalOwnerId": principal.account_id,
            "AuthPrincipalType": "AssumedRoleUser" if principal.is_temporary else "SubUser",
            "AuthPrincipalDisplayName": principal.user_id,
            "NoPermissionType": "ExplicitDeny" if explicit else "ImplicitDeny",
            "AuthAction": action,
        }


@lru_cache(maxsize=256)
def _session_policy(text: str) -> Mapping[str, Any]:
    return json.loads(text)  # type: ignore[no-any-return]


def _decide(documents: Sequence[Mapping[str, Any]], action: str, resource: str,
            context: RequestContext) -> Decision:
    try:
        return evaluate(documents, action=action, resource=resource, context=context)
    except (PolicyError, ValueError):
        # Stored policies are validated when written; one that no longer validates fails closed.
        log.error("an attached policy is invalid; denying %s", action)
        return Decision.NO_MATCH


def authorize(principal: Principal, *, action: str, resource: str, context: RequestContext,
              policies: PolicySource) -> None:
    """Returns when the call is allowed, raises ``AccessDenied`` otherwise."""
    if principal.is_root:
        return
    if principal.user_id is None:  # a temporary key always belongs to a user; anything else is refused
        raise AccessDenied(principal, action=action, resource=resource, explicit=False,
                           policy_type=IDENTITY_POLICY)
    documents = policies.policies_for(principal.account_id, principal.user_id)
    decision = _decide(documents, action, resource, context)
    if decision is not Decision.ALLOW:
        raise AccessDenied(principal, action=action, resource=resource,
                           explicit=decision is Decision.DENY, policy_type=IDENTITY_POLICY)
    if principal.session_policy is None:
        return
    try:
        session_doc = _session_policy(principal.session_policy)
    except ValueError:
        session_doc = {}
    decision = _decide([session_doc], action, resource, context)
    if decision is not Decision.ALLOW:
        raise AccessDenied(principal, action=action, resource=resource,
                           explicit=decision is Decision.DENY, policy_type=SESSION_POLICY)
