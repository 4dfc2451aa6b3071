"""Use cases of AccessKeys: first-start bootstrap, account and RAM-user keys, `imprint keys`.

Secrets are sealed with the server key before they reach a row; the plain secret is returned once,
to the caller that created it, and never again.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from imprint.service import ids
from imprint.service.accounts import require_account
from imprint.service.domain import KeyInfo, NewKey
from imprint.service.errors import KeyNotFound
from imprint.service.users import require_user
from imprint.store.db import serialize
from imprint.store.rows import AccessKeyRow, AccountRow
from imprint.store.sealing import secret_binding
from imprint.store.secret_box import SecretBox


def bootstrap(session: Session, *, box: SecretBox, now: datetime) -> NewKey | None:
    """Creates the first account and its key on an empty database; None when one exists already."""
    serialize(session, "bootstrap")  # API processes on several hosts may start on the empty database
    if session.scalars(select(AccountRow.id).limit(1)).first() is not None:
        return None
    account = AccountRow(id=ids.account_id(), name="default", created_at=now)
    session.add(account)
    session.flush()
    return create_key(session, box=box, account_id=account.id, now=now)


def default_account(session: Session) -> str:
    account = session.scalars(select(AccountRow.id).order_by(AccountRow.created_at).limit(1)).first()
    if account is None:
        raise KeyNotFound("no account exists yet; run `imprint serve` once or `imprint keys create`")
    return account


def create_key(session: Session, *, box: SecretBox, account_id: str | None, now: datetime,
               user_id: str | None = None) -> NewKey:
    """A key of the account itself (``user_id`` None: may do everything) or of one of its RAM users."""
    if user_id is not None:
        user = require_user(session, user_id)
        if account_id is not None and account_id != user.account_id:
            raise KeyNotFound(f"user {user_id} does not belong to account {account_id}")
        account_id = user.account_id
    elif account_id is None:
        account_id = default_account(session)
    else:
        require_account(session, account_id)
    key_id, secret = ids.access_key_id(), ids.access_key_secret()
    row = AccessKeyRow(access_key_id=key_id, secret=box.seal(secret, bound_to=secret_binding(key_id)),
                       account_id=account_id, user_id=user_id, active=True, created_at=now)
    session.add(row)
    session.flush()
    return NewKey(key_id, secret, account_id, user_id)


def list_keys(session: Session, *, account_id: str | None = None,
              user_id: str | None = None) -> list[KeyInfo]:
    query = select(AccessKeyRow).order_by(AccessKeyRow.created_at, AccessKeyRow.access_key_id)
    if account_id is not None:
        query = query.where(AccessKeyRow.account_id == account_id)
    if user_id is not None:
        query = query.where(AccessKeyRow.user_id == user_id)
    return [KeyInfo(r.access_key_id, r.account_id, r.active, r.created_at, r.user_id, r.expires_at)
            for r in session.scalars(query)]


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
