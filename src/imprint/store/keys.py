"""AccessKeys for the signature verifier, read from the database with a short TTL cache.

The cache keeps signed hot paths (image fetching) off the database; a key disabled or deleted with
`imprint keys` from another process stops working within `ttl` seconds."""

from __future__ import annotations

import threading
import time

from sqlalchemy.orm import Session, sessionmaker

from imprint.auth.credentials import AccessKey
from imprint.store.rows import AccessKeyRow


class SqlKeyLookup:
    def __init__(self, sessions: sessionmaker[Session], *, ttl: float = 2.0) -> None:
        self._sessions, self._ttl = sessions, ttl
        self._cache: dict[str, tuple[float, AccessKey | None]] = {}
        self._lock = threading.Lock()

    def get(self, access_key_id: str) -> AccessKey | None:
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(access_key_id)
        if hit is not None and now - hit[0] < self._ttl:
            return hit[1]
        with self._sessions() as session:
            row = session.get(AccessKeyRow, access_key_id)
            key = None if row is None else AccessKey(
                access_key_id=row.access_key_id, secret=row.secret, account_id=row.account_id,
                user_id=row.user_id, active=row.active)
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()  # unknown ids are cached too; a flood of them must not grow memory
            self._cache[access_key_id] = (now, key)
        return key
