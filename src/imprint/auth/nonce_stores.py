"""Picks the nonce store from a URL (``Settings.nonce_url``).

* ``sqlite:///relative/path`` or ``sqlite:////absolute/path``: the default, a file in the data
  directory shared by all worker processes of one host and kept across restarts;
* ``redis://`` / ``rediss://`` / ``unix://``: Redis, for API processes on several hosts;
* ``memory:``: process-local and forgotten on restart; only for a single process (tests, tools).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from imprint.auth.credentials import NONCE_RETENTION, InMemoryNonceStore, NonceStore

_REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


def open_nonce_store(url: str, retention: timedelta = NONCE_RETENTION) -> NonceStore:
    if url.startswith("sqlite:///"):
        from imprint.auth.nonce_sqlite import SqliteNonceStore

        return SqliteNonceStore(Path(url.removeprefix("sqlite:///")), retention)
    if url.startswith(_REDIS_SCHEMES):
        from imprint.auth.nonce_redis import RedisNonceStore

        return RedisNonceStore.from_url(url, retention)
    if url in ("memory:", "memory://"):
        return InMemoryNonceStore(retention)
    raise ValueError(f"unsupported nonce store URL {url!r}: "
                     "use sqlite:///PATH, redis://HOST:PORT/DB or memory:")
