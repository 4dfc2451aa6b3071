"""AccessKeys for the signature verifier, read from the database with a short TTL cache.

The cache keeps signed hot paths (image fetching) off the database; a key disabled or deleted with
`imprint keys` from another process stops working within `ttl` seconds. Secrets and tokens are
unsealed here, just before the verifier needs them, and live only in memory."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session, sessionmaker

from imprint.auth.credentials import AccessKey
from imprint.store.rows import AccessKeyRow
from imprint.store.sealing import secret_binding, token_binding
from imprint.store.secret_box import SecretBox, SecretUnreadable
from imprint.store.ttl_cache import TtlCache

log = logging.getLogger(__name__)


class SqlKeyLookup:
    def __init__(self, sessions: sessionmaker[Session], box: SecretBox, *, ttl: float = 2.0) -> None:
        self._sessions, self._box = sessions, box
        self._cache: TtlCache[AccessKey | None] = TtlCache(ttl)

    def get(self, access_key_id: str) -> AccessKey | None:
        return self._cache.get(access_key_id, lambda: self._load(access_key_id))

    def _load(self, access_key_id: str) -> AccessKey | None:
        if "\x00" in access_key_id:  # no key has one, and PostgreSQL refuses the query rather than miss
            return None
        with self._sessions() as session:
            row = session.get(AccessKeyRow, access_key_id)
            if row is None:
                return None
            try:
                secret = self._box.open(row.secret, bound_to=secret_binding(row.access_key_id))
                token = None if row.security_token is None else self._box.open(
                    row.security_token, bound_to=token_binding(row.access_key_id))
            except SecretUnreadable:
                # Logged without the value; the caller then sees the key as unknown.
                log.error("the secret of AccessKey %s does not open under the server key", access_key_id)
                return None
            return AccessKey(access_key_id=row.access_key_id, secret=secret, account_id=row.account_id,
                             user_id=row.user_id, active=row.active, security_token=token,
                             expires_at=row.expires_at, session_policy=row.session_policy)
