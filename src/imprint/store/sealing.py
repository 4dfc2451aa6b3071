"""Keeps stored secrets sealed: seals what older versions wrote in plaintext, and refuses to run
with a server key that cannot open what is already sealed."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from imprint.store.rows import AccessKeyRow
from imprint.store.secret_box import PREFIX, SecretBox, SecretUnreadable

log = logging.getLogger(__name__)


def secret_binding(access_key_id: str) -> str:
    return f"access_keys.secret:{access_key_id}"


def token_binding(access_key_id: str) -> str:
    return f"access_keys.security_token:{access_key_id}"


class WrongServerKey(RuntimeError):
    pass


def seal_plaintext_secrets(session: Session, box: SecretBox) -> int:
    """Seals every plaintext secret in place; returns how many. Idempotent, the caller commits."""
    sealed = 0
    for row in session.scalars(select(AccessKeyRow).where(~AccessKeyRow.secret.startswith(PREFIX))):
        row.secret = box.seal(row.secret, bound_to=secret_binding(row.access_key_id))
        sealed += 1
    if sealed:
        log.info("sealed %d plaintext AccessKey secret(s) under the server key", sealed)
    return sealed


def check_server_key(session: Session, box: SecretBox) -> None:
    """One sealed secret must open; otherwise every signed request would fail, so fail at start."""
    row = session.scalars(select(AccessKeyRow).where(AccessKeyRow.secret.startswith(PREFIX))
                          .limit(1)).first()
    if row is None:
        return
    try:
        box.open(row.secret, bound_to=secret_binding(row.access_key_id))
    except SecretUnreadable:
        raise WrongServerKey("the server key does not open the stored AccessKey secrets; start with the "
                             "key they were sealed with (server.key in the data dir or IMPRINT_SECRET_KEY)"
                             ) from None


def prepare_secrets(session: Session, box: SecretBox) -> None:
    """Run on every open of the store (server start, CLI): seal leftovers, then prove the key."""
    seal_plaintext_secrets(session, box)
    check_server_key(session, box)
