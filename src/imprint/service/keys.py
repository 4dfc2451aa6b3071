"""Use cases of accounts and AccessKeys: first-start bootstrap and the `imprint keys` commands."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from imprint.service import ids
from imprint.service.domain import KeyInfo, NewKey
from imprint.service.errors import KeyNotFound
from imprint.store.rows import AccessKeyRow, AccountRow


def bootstrap(session: Session, *, now: datetime) -> NewKey | None:
    """Creates the first account and its key on an empty database; None when one exists already."""
    if session.scalars(select(AccountRow.id).limit(1)).first() is not None:
        return None
    account = AccountRow(id=ids.account_id(), name="default", created_at=now)
    session.add(account)
    session.flush()
    return create_key(session, account_id=account.id, now=now)


def default_account(session: Session) -> str:
    account = session.scalars(select(AccountRow.id).order_by(AccountRow.created_at).limit(1)).first()
    if account is None:
        raise KeyNotFound("no account exists yet; run `imprint serve` once or `imprint keys create`")
    return account


def create_key(session: Session, *, account_id: str | None, now: datetime) -> NewKey:
    if account_id is None:
        account_id = default_account(session)
    elif session.get(AccountRow, account_id) is None:
        raise KeyNotFound(f"no such account: {account_id}")
    row = AccessKeyRow(access_key_id=ids.access_key_id(), secret=ids.access_key_secret(),
                       account_id=account_id, user_id=account_id, active=True, created_at=now)
    session.add(row)
    session.flush()
    return NewKey(row.access_key_id, row.secret, account_id)


def list_keys(session: Session) -> list[KeyInfo]:
    rows = session.scalars(select(AccessKeyRow).order_by(AccessKeyRow.created_at)).all()
    return [KeyInfo(r.access_key_id, r.account_id, r.active, r.created_at) for r in rows]


def set_active(session: Session, *, access_key_id: str, active: bool) -> None:
    row = session.get(AccessKeyRow, access_key_id)
    if row is None:
        raise KeyNotFound(f"no such AccessKey: {access_key_id}")
    row.active = active


def delete_key(session: Session, *, access_key_id: str) -> None:
    row = session.get(AccessKeyRow, access_key_id)
    if row is None:
        raise KeyNotFound(f"no such AccessKey: {access_key_id}")
    session.delete(row)
