"""Use cases of RAM policies: custom documents per account, system ones by name, attachments.

A document is validated with the same grammar the evaluator uses (``imprint.auth.ram``, a pure
module), so a stored policy can always be evaluated.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from imprint.auth.ram import validate_policy
from imprint.auth.system_policies import CUSTOM, SYSTEM, SYSTEM_POLICIES
from imprint.service import names
from imprint.service.accounts import require_account
from imprint.service.domain import Policy
from imprint.service.errors import (
    AlreadyExists,
    DeleteConflict,
    InvalidParameter,
    MalformedPolicy,
    PolicyNotFound,
)
from imprint.service.users import require_user
from imprint.store.rows import PolicyAttachmentRow, PolicyRow

MAX_DOCUMENT_CHARS = 6144  # RAM's limit for a custom policy


def parse_document(document: str | Mapping[str, Any]) -> dict[str, Any]:
    """A validated policy document, from JSON text or an already parsed object."""
    if isinstance(document, str):
        if len(document) > MAX_DOCUMENT_CHARS:
            raise MalformedPolicy([f"longer than {MAX_DOCUMENT_CHARS} characters"])
        try:
            parsed = json.loads(document)
        except (ValueError, RecursionError):
            raise MalformedPolicy(["not valid JSON"]) from None
    else:
        parsed = dict(document)
    if problems := validate_policy(parsed):
        raise MalformedPolicy(problems)
    return parsed  # type: ignore[no-any-return]


def _custom_view(row: PolicyRow) -> Policy:
    return Policy(row.name, CUSTOM, row.description, json.loads(row.document), row.account_id, row.created_at)


def _system_view(name: str) -> Policy:
    return Policy(name, SYSTEM, "built in", dict(SYSTEM_POLICIES[name]), None, None)


def _find(session: Session, account_id: str, name: str) -> PolicyRow | None:
    return session.scalars(select(PolicyRow).where(PolicyRow.account_id == account_id,
                                                   PolicyRow.name == name)).first()


def create_policy(session: Session, *, account_id: str, name: str, document: str | Mapping[str, Any],
                  description: str = "", now: datetime) -> Policy:
    require_account(session, account_id)
    name = names.policy_name(name)
    parsed = parse_document(document)
    if name in SYSTEM_POLICIES or _find(session, account_id, name) is not None:
        raise AlreadyExists("policy", name)
    row = PolicyRow(account_id=account_id, name=name, description=description[:1024],
                    document=json.dumps(parsed, ensure_ascii=False), created_at=now)
    session.add(row)
    session.flush()
    return _custom_view(row)


def set_document(session: Session, *, account_id: str, name: str,
                 document: str | Mapping[str, Any]) -> Policy:
    row = _find(session, account_id, name)
    if row is None:
        raise PolicyNotFound(CUSTOM, name)
    row.document = json.dumps(parse_document(document), ensure_ascii=False)
    return _custom_view(row)


def list_policies(session: Session, *, account_id: str) -> list[Policy]:
    """The system policies, then the account's custom ones."""
    require_account(session, account_id)
    rows = session.scalars(select(PolicyRow).where(PolicyRow.account_id == account_id)
                           .order_by(PolicyRow.name)).all()
    return [*(_system_view(n) for n in SYSTEM_POLICIES), *(_custom_view(r) for r in rows)]


def get_policy(session: Session, *, account_id: str, name: str, policy_type: str = CUSTOM) -> Policy:
    if policy_type == SYSTEM:
        if name not in SYSTEM_POLICIES:
            raise PolicyNotFound(SYSTEM, name)
        return _system_view(name)
    row = _find(session, account_id, name)
    if row is None:
        raise PolicyNotFound(CUSTOM, name)
    return _custom_view(row)


def delete_policy(session: Session, *, account_id: str, name: str) -> None:
    row = _find(session, account_id, name)
    if row is None:
        raise PolicyNotFound(CUSTOM, name)
    attached = exists().where(PolicyAttachmentRow.account_id == account_id, PolicyAttachmentRow.policy_type
                              == CUSTOM, PolicyAttachmentRow.policy_name == name)
    if session.scalar(select(attached)):
        raise DeleteConflict(f"policy {name} is still attached to a user; detach it first")
    session.delete(row)


def _policy_type(value: str) -> str:
    if value not in (SYSTEM, CUSTOM):
        raise InvalidParameter("policyType", f'must be "{SYSTEM}" or "{CUSTOM}"')
    return value


def attach(session: Session, *, user_id: str, policy_name: str, policy_type: str = CUSTOM,
           now: datetime) -> None:
    """Attaches a policy of the user's own account (or a system one); attaching twice is a no-op."""
    user = require_user(session, user_id)
    get_policy(session, account_id=user.account_id, name=policy_name, policy_type=_policy_type(policy_type))
    if session.get(PolicyAttachmentRow, (user_id, policy_type, policy_name)) is None:
        session.add(PolicyAttachmentRow(user_id=user_id, policy_type=policy_type, policy_name=policy_name,
                                        account_id=user.account_id, attached_at=now))
        session.flush()


def detach(session: Session, *, user_id: str, policy_name: str, policy_type: str = CUSTOM) -> None:
    require_user(session, user_id)
    row = session.get(PolicyAttachmentRow, (user_id, _policy_type(policy_type), policy_name))
    if row is None:
        raise PolicyNotFound(policy_type, f"{policy_name} (not attached to user {user_id})")
    session.delete(row)
