"""Admin operations: parse, one service call, wrap. The same service calls back `imprint accounts|
users|keys|policies`, so the CLI and this API cannot drift apart."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from imprint.api.admin import wire
from imprint.api.params import Params
from imprint.api.services import Services
from imprint.auth.system_policies import CUSTOM
from imprint.service import accounts, keys, policies, sts, users, webhooks
from imprint.service.errors import InvalidParameter


@dataclass
class AdminCall:
    session: Session
    services: Services
    path: dict[str, str]
    params: Params
    body: dict[str, Any]
    now: datetime


def _document(call: AdminCall) -> Any:
    document = call.body.get("document")
    if not isinstance(document, dict | str):
        raise InvalidParameter("document", "a policy document (JSON object or its text) is required")
    return document


def create_account(c: AdminCall) -> Any:
    return wire.account(accounts.create_account(c.session, name=c.params.text("name", max_length=128),
                                                now=c.now))


def list_accounts(c: AdminCall) -> Any:
    return [wire.account(a) for a in accounts.list_accounts(c.session)]


def get_account(c: AdminCall) -> Any:
    return wire.account(accounts.get_account(c.session, account_id=c.path["account_id"]))


def delete_account(c: AdminCall) -> Any:
    accounts.delete_account(c.session, account_id=c.path["account_id"])
    return {"accountId": c.path["account_id"], "deleted": True}


def create_user(c: AdminCall) -> Any:
    return wire.user(users.create_user(c.session, account_id=c.path["account_id"],
                                       name=c.params.text("userName", max_length=64), now=c.now))


def list_users(c: AdminCall) -> Any:
    return [wire.user(u) for u in users.list_users(c.session, account_id=c.path["account_id"])]


def get_user(c: AdminCall) -> Any:
    return wire.user(users.get_user(c.session, user_id=c.path["user_id"]))


def delete_user(c: AdminCall) -> Any:
    users.delete_user(c.session, user_id=c.path["user_id"])
    return {"userId": c.path["user_id"], "deleted": True}


def create_key(c: AdminCall) -> Any:
    p = c.params
    return wire.new_key(keys.create_key(c.session, box=c.services.box, account_id=p.opt_text("accountId"),
                                        user_id=p.opt_text("userId"), now=c.now))


def list_keys(c: AdminCall) -> Any:
    p = c.params
    return [wire.key(k) for k in keys.list_keys(c.session, account_id=p.opt_text("accountId"),
                                                user_id=p.opt_text("userId"))]


def change_key(c: AdminCall) -> Any:
    action = c.path["action"]
    if action not in ("enable", "disable"):
        raise InvalidParameter("action", "must be enable or disable")
    keys.set_active(c.session, access_key_id=c.path["access_key_id"], active=action == "enable")
    return {"accessKeyId": c.path["access_key_id"], "active": action == "enable"}


def delete_key(c: AdminCall) -> Any:
    keys.delete_key(c.session, access_key_id=c.path["access_key_id"])
    return {"accessKeyId": c.path["access_key_id"], "deleted": True}


def issue_temporary_key(c: AdminCall) -> Any:
    duration = c.params.opt_int("durationSeconds", lo=sts.MIN_DURATION_S, hi=sts.MAX_DURATION_S)
    policy = c.body.get("policy")
    if policy is not None and not isinstance(policy, dict | str):
        raise InvalidParameter("policy", "must be a policy document (JSON object or its text)")
    return wire.temporary(sts.issue(c.session, box=c.services.box, user_id=c.path["user_id"], now=c.now,
                                    duration_s=duration or sts.DEFAULT_DURATION_S, policy=policy))


def create_policy(c: AdminCall) -> Any:
    p = c.params
    return wire.policy(policies.create_policy(
        c.session, account_id=c.path["account_id"], name=p.text("policyName", max_length=128),
        document=_document(c), description=p.opt_text("description") or "", now=c.now))


def list_policies(c: AdminCall) -> Any:
    return [wire.policy(p) for p in policies.list_policies(c.session, account_id=c.path["account_id"])]


def get_policy(c: AdminCall) -> Any:
    return wire.policy(policies.get_policy(c.session, account_id=c.path["account_id"], name=c.path["name"],
                                           policy_type=c.params.opt_text("policyType") or CUSTOM))


def update_policy(c: AdminCall) -> Any:
    return wire.policy(policies.set_document(c.session, account_id=c.path["account_id"], name=c.path["name"],
                                             document=_document(c)))


def delete_policy(c: AdminCall) -> Any:
    policies.delete_policy(c.session, account_id=c.path["account_id"], name=c.path["name"])
    return {"policyName": c.path["name"], "deleted": True}


def attach_policy(c: AdminCall) -> Any:
    p = c.params
    policies.attach(c.session, user_id=c.path["user_id"], policy_name=p.text("policyName", max_length=128),
                    policy_type=p.opt_text("policyType") or CUSTOM, now=c.now)
    return wire.user(users.get_user(c.session, user_id=c.path["user_id"]))


def detach_policy(c: AdminCall) -> Any:
    policies.detach(c.session, user_id=c.path["user_id"], policy_name=c.path["name"],
                    policy_type=c.path["policy_type"])
    return wire.user(users.get_user(c.session, user_id=c.path["user_id"]))


def _events(c: AdminCall) -> list[str] | None:
    events = c.body.get("events")
    if events is None:
        return None
    if not isinstance(events, list) or not all(isinstance(e, str) for e in events):
        raise InvalidParameter("events", "an array of event names is expected")
    return events


def add_webhook(c: AdminCall) -> Any:
    url = c.body.get("url")
    if not isinstance(url, str) or not url:
        raise InvalidParameter("url", "the endpoint's http(s) URL is required")
    description = c.body.get("description", "")
    if not isinstance(description, str):
        raise InvalidParameter("description", "a string is expected")
    return wire.new_webhook(webhooks.add_endpoint(
        c.session, box=c.services.box, account_id=c.path["account_id"], url=url, events=_events(c),
        description=description, now=c.now))


def list_webhooks(c: AdminCall) -> Any:
    return [wire.webhook(e) for e in webhooks.list_endpoints(c.session, account_id=c.path["account_id"])]


def remove_webhook(c: AdminCall) -> Any:
    webhooks.remove_endpoint(c.session, endpoint_id=c.path["webhook_id"])
    return {"webhookId": c.path["webhook_id"], "deleted": True}


def webhook_deliveries(c: AdminCall) -> Any:
    raw = c.params.opt_text("limit") or "50"
    if not raw.isdigit() or not 1 <= int(raw) <= 1000:
        raise InvalidParameter("limit", "a whole number from 1 to 1000")
    limit = int(raw)
    return [wire.delivery(d) for d in webhooks.list_deliveries(
        c.session, account_id=c.path.get("account_id"), endpoint_id=c.path.get("webhook_id"), limit=limit)]


def callback_secret(c: AdminCall) -> Any:
    rotate = c.body.get("rotate", False)
    if not isinstance(rotate, bool):
        raise InvalidParameter("rotate", "true or false")
    secret = webhooks.callback_secret(c.session, box=c.services.box, account_id=c.path["account_id"],
                                      now=c.now, rotate=rotate)
    return {"accountId": c.path["account_id"], "secret": secret}
