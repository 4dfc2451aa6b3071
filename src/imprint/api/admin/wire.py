"""JSON shapes of identities, shared by the admin API and `imprint ... --json` so both agree.
Secrets appear only in the objects returned by the calls that create them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from imprint.service.domain import Account, KeyInfo, NewKey, Policy, TemporaryCredentials, User
from imprint.service.webhooks import Delivery, Endpoint, NewEndpoint


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="seconds") + "Z"


def account(a: Account) -> dict[str, Any]:
    return {"accountId": a.id, "name": a.name, "createTime": _time(a.created_at)}


def user(u: User) -> dict[str, Any]:
    return {"userId": u.id, "accountId": u.account_id, "userName": u.name, "createTime": _time(u.created_at),
            "policies": [{"policyType": p.policy_type, "policyName": p.policy_name} for p in u.policies]}


def key(k: KeyInfo) -> dict[str, Any]:
    return {"accessKeyId": k.access_key_id, "accountId": k.account_id, "userId": k.user_id,
            "active": k.active, "temporary": k.temporary, "createTime": _time(k.created_at),
            "expiration": _time(k.expires_at)}


def new_key(k: NewKey) -> dict[str, Any]:
    return {"accessKeyId": k.access_key_id, "accessKeySecret": k.secret, "accountId": k.account_id,
            "userId": k.user_id}


def temporary(c: TemporaryCredentials) -> dict[str, Any]:
    # The field names of STS AssumeRole's Credentials, in the camelCase used everywhere here.
    return {"accessKeyId": c.access_key_id, "accessKeySecret": c.secret, "securityToken": c.security_token,
            "expiration": _time(c.expires_at), "accountId": c.account_id, "userId": c.user_id}


def policy(p: Policy) -> dict[str, Any]:
    return {"policyName": p.name, "policyType": p.policy_type, "description": p.description,
            "document": p.document, "accountId": p.account_id, "createTime": _time(p.created_at)}


def webhook(e: Endpoint) -> dict[str, Any]:
    return {"webhookId": e.id, "accountId": e.account_id, "url": e.url, "events": e.events,
            "description": e.description, "createTime": _time(e.created_at)}


def new_webhook(n: NewEndpoint) -> dict[str, Any]:
    return {**webhook(n.endpoint), "secret": n.secret}


def delivery(d: Delivery) -> dict[str, Any]:
    return {"deliveryId": d.id, "messageId": d.message_id, "webhookId": d.endpoint_id, "url": d.url,
            "event": d.event, "jobKind": d.job_kind, "jobId": str(d.job_id), "state": d.state,
            "attempts": d.attempts, "createTime": _time(d.created_at),
            "nextAttemptTime": _time(d.next_attempt_at) if d.state == "pending" else None,
            "lastStatus": d.last_status, "lastError": d.last_error, "deliveredTime": _time(d.delivered_at)}
