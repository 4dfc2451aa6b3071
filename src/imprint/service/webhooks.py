"""Use cases of webhooks: register, list and remove an account's endpoints, read its deliveries,
and the account's secret for `callbackUrl` deliveries. Secrets are sealed under the server key;
an endpoint's plain secret is returned once, when it is created."""

from __future__ import annotations

import base64
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from imprint.ingest import FetchPolicy, URLRejected
from imprint.service.accounts import require_account
from imprint.service.errors import InvalidParameter, WebhookNotFound
from imprint.service.job_events import EVENTS
from imprint.store.secret_box import SecretBox
from imprint.store.webhook_rows import CallbackSecretRow, WebhookDeliveryRow, WebhookEndpointRow

MAX_ENDPOINTS_PER_ACCOUNT = 20


@dataclass(frozen=True)
class Endpoint:
    id: str
    account_id: str
    url: str
    events: list[str]
    description: str
    created_at: datetime


@dataclass(frozen=True)
class NewEndpoint:
    endpoint: Endpoint
    secret: str  # shown once


@dataclass(frozen=True)
class Delivery:
    id: int
    message_id: str
    endpoint_id: str | None
    url: str
    event: str
    job_kind: str
    job_id: int
    state: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    last_status: int | None
    last_error: str | None
    delivered_at: datetime | None


def new_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and the base64 of 24 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def endpoint_binding(endpoint_id: str) -> str:
    return f"webhook_endpoints.secret:{endpoint_id}"


def callback_binding(account_id: str) -> str:
    return f"webhook_callback_secrets.secret:{account_id}"


def check_url(url: str, name: str = "url") -> str:
    """Scheme and host are checked now; the addresses are vetted at each delivery, since DNS moves."""
    try:
        FetchPolicy().vet_url(url)
    except URLRejected as exc:
        raise InvalidParameter(name, str(exc)) from None
    return url


def check_events(events: list[str]) -> list[str]:
    unknown = sorted(set(events) - set(EVENTS))
    if unknown or not events:
        raise InvalidParameter("events", f"expected some of {', '.join(EVENTS)}; "
                                         f"got {', '.join(unknown) or 'none'}")
    return [e for e in EVENTS if e in events]


def _endpoint(row: WebhookEndpointRow) -> Endpoint:
    return Endpoint(row.id, row.account_id, row.url, list(row.events), row.description, row.created_at)


def add_endpoint(session: Session, *, box: SecretBox, account_id: str, url: str, events: list[str] | None,
                 description: str = "", now: datetime) -> NewEndpoint:
    require_account(session, account_id)
    count = len(session.scalars(select(WebhookEndpointRow.id).where(
        WebhookEndpointRow.account_id == account_id)).all())
    if count >= MAX_ENDPOINTS_PER_ACCOUNT:
        raise InvalidParameter("url", f"an account may have at most {MAX_ENDPOINTS_PER_ACCOUNT} endpoints")
    endpoint_id = "we_" + uuid.uuid4().hex
    secret = new_secret()
    row = WebhookEndpointRow(id=endpoint_id, account_id=account_id, url=check_url(url),
                             events=check_events(list(events) if events else list(EVENTS)),
                             secret=box.seal(secret, bound_to=endpoint_binding(endpoint_id)),
                             description=description, created_at=now)
    session.add(row)
    session.flush()
    return NewEndpoint(_endpoint(row), secret)


def list_endpoints(session: Session, *, account_id: str | None = None) -> list[Endpoint]:
    query = select(WebhookEndpointRow).order_by(WebhookEndpointRow.created_at)
    if account_id is not None:
        query = query.where(WebhookEndpointRow.account_id == account_id)
    return [_endpoint(r) for r in session.scalars(query)]


def remove_endpoint(session: Session, *, endpoint_id: str) -> None:
    """Deliveries still pending for it are dropped: nobody would be able to verify them any more."""
    row = session.get(WebhookEndpointRow, endpoint_id)
    if row is None:
        raise WebhookNotFound(endpoint_id)
    for delivery in session.scalars(select(WebhookDeliveryRow).where(
            WebhookDeliveryRow.endpoint_id == endpoint_id, WebhookDeliveryRow.state == "pending")):
        delivery.state, delivery.last_error = "failed", "the endpoint was removed"
    session.delete(row)


def endpoint_secret(session: Session, *, box: SecretBox, endpoint_id: str) -> str:
    row = session.get(WebhookEndpointRow, endpoint_id)
    if row is None:
        raise WebhookNotFound(endpoint_id)
    return box.open(row.secret, bound_to=endpoint_binding(endpoint_id))


def callback_secret(session: Session, *, box: SecretBox, account_id: str, now: datetime,
                    rotate: bool = False) -> str:
    """The account's secret for callbackUrl deliveries, created on first use."""
    row = session.get(CallbackSecretRow, account_id)
    if row is None or rotate:
        require_account(session, account_id)
        secret = new_secret()
        sealed = box.seal(secret, bound_to=callback_binding(account_id))
        if row is None:
            session.add(CallbackSecretRow(account_id=account_id, secret=sealed, created_at=now))
        else:
            row.secret, row.created_at = sealed, now
        session.flush()
        return secret
    return box.open(row.secret, bound_to=callback_binding(account_id))


def list_deliveries(session: Session, *, account_id: str | None = None, endpoint_id: str | None = None,
                    limit: int = 50) -> list[Delivery]:
    query = select(WebhookDeliveryRow).order_by(WebhookDeliveryRow.id.desc()).limit(limit)
    if account_id is not None:
        query = query.where(WebhookDeliveryRow.account_id == account_id)
    if endpoint_id is not None:
        query = query.where(WebhookDeliveryRow.endpoint_id == endpoint_id)
    return [Delivery(r.id, r.message_id, r.endpoint_id, r.url, r.event, r.job_kind, r.job_id, r.state,
                     r.attempts, r.created_at, r.next_attempt_at, r.last_status, r.last_error, r.delivered_at)
            for r in session.scalars(query)]
