"""Use cases of accounts: the tenants that own every job, model and image. The caller commits."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, exists, select
from sqlalchemy.orm import Session

from imprint.service import ids, names
from imprint.service.domain import Account
from imprint.service.errors import AccountNotFound, DeleteConflict
from imprint.store.rows import (
    AccessKeyRow,
    AccountRow,
    PolicyAttachmentRow,
    PolicyRow,
    TrainJobRow,
    UserRow,
)
from imprint.store.webhook_rows import CallbackSecretRow, WebhookDeliveryRow, WebhookEndpointRow


def _view(row: AccountRow) -> Account:
    return Account(row.id, row.name, row.created_at)


def require_account(session: Session, account_id: str) -> AccountRow:
    row = session.get(AccountRow, account_id)
    if row is None:
        raise AccountNotFound(account_id)
    return row


def create_account(session: Session, *, name: str, now: datetime) -> Account:
    row = AccountRow(id=ids.account_id(), name=names.account_name(name), created_at=now)
    session.add(row)
    session.flush()
    return _view(row)


def list_accounts(session: Session) -> list[Account]:
    return [_view(r) for r in session.scalars(select(AccountRow).order_by(AccountRow.created_at))]


def get_account(session: Session, *, account_id: str) -> Account:
    return _view(require_account(session, account_id))


def delete_account(session: Session, *, account_id: str) -> None:
    """Removes an account with its users, keys and policies; refused while it owns any job."""
    require_account(session, account_id)
    if session.scalar(select(exists().where(TrainJobRow.account_id == account_id))):
        raise DeleteConflict(f"account {account_id} still owns jobs and models; it cannot be deleted")
    session.execute(delete(AccessKeyRow).where(AccessKeyRow.account_id == account_id))
    session.execute(delete(PolicyAttachmentRow).where(PolicyAttachmentRow.account_id == account_id))
    session.execute(delete(PolicyRow).where(PolicyRow.account_id == account_id))
    session.execute(delete(UserRow).where(UserRow.account_id == account_id))
    for table in (WebhookDeliveryRow, WebhookEndpointRow, CallbackSecretRow):
        session.execute(delete(table).where(table.account_id == account_id))
    session.execute(delete(AccountRow).where(AccountRow.id == account_id))
