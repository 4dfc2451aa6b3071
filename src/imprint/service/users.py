"""Use cases of RAM users: identities inside an account that carry keys and attached policies."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from imprint.service import ids, names
from imprint.service.accounts import require_account
from imprint.service.domain import AttachedPolicy, User
from imprint.service.errors import AlreadyExists, UserNotFound
from imprint.store.rows import AccessKeyRow, PolicyAttachmentRow, UserRow


def _attached(session: Session, user_ids: list[str]) -> dict[str, list[AttachedPolicy]]:
    found: dict[str, list[AttachedPolicy]] = defaultdict(list)
    if user_ids:
        rows = session.scalars(select(PolicyAttachmentRow).where(PolicyAttachmentRow.user_id.in_(user_ids))
                               .order_by(PolicyAttachmentRow.attached_at, PolicyAttachmentRow.policy_name))
        for r in rows:
            found[r.user_id].append(AttachedPolicy(r.policy_type, r.policy_name))
    return found


def _view(row: UserRow, policies: list[AttachedPolicy]) -> User:
    return User(row.id, row.account_id, row.name, row.created_at, policies)


def require_user(session: Session, user_id: str) -> UserRow:
    row = session.get(UserRow, user_id)
    if row is None:
        raise UserNotFound(user_id)
    return row


def create_user(session: Session, *, account_id: str, name: str, now: datetime) -> User:
    require_account(session, account_id)
    name = names.user_name(name)
    taken = session.scalar(select(UserRow.id).where(UserRow.account_id == account_id, UserRow.name == name))
    if taken is not None:
        raise AlreadyExists("user", name)
    row = UserRow(id=ids.user_id(), account_id=account_id, name=name, created_at=now)
    session.add(row)
    session.flush()
    return _view(row, [])


def list_users(session: Session, *, account_id: str) -> list[User]:
    require_account(session, account_id)
    rows = session.scalars(select(UserRow).where(UserRow.account_id == account_id)
                           .order_by(UserRow.created_at, UserRow.name)).all()
    attached = _attached(session, [r.id for r in rows])
    return [_view(r, attached.get(r.id, [])) for r in rows]


def get_user(session: Session, *, user_id: str) -> User:
    row = require_user(session, user_id)
    return _view(row, _attached(session, [row.id]).get(row.id, []))


def delete_user(session: Session, *, user_id: str) -> None:
    """Deletes the user with its keys (temporary ones included) and attachments."""
    require_user(session, user_id)
    session.execute(delete(AccessKeyRow).where(AccessKeyRow.user_id == user_id))
    session.execute(delete(PolicyAttachmentRow).where(PolicyAttachmentRow.user_id == user_id))
    session.execute(delete(UserRow).where(UserRow.id == user_id))
