"""The nonce stores behind ``imprint.auth.NonceStore``, picked from a URL (``Settings.nonce_url``).

* ``sqlite:///relative/path`` or ``sqlite:////absolute/path``: the default, a file in the data
  directory shared by all worker processes of one host and kept across restarts;
* ``redis://`` / ``rediss://`` / ``unix://``: Redis, for API processes on several hosts;
* ``memory:``: process-local and forgotten on restart; only for a single process (tests, tools).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from imprint.auth.credentials import NONCE_RETENTION, NonceStore
from imprint.store.nonces.memory import InMemoryNonceStore

_REDIS_SCHEMES = ("redis://", "rediss://", "unix://")

__all__ = ["InMemoryNonceStore", "open_nonce_store"]


def open_nonce_store(url: str, retention: timedelta = NONCE_RETENTION) -> NonceStore:
    if url.startswith("sqlite:///"):
        from imprint.store.nonces.sqlite import SqliteNonceStore

        return SqliteNonceStore(Path(url.removeprefix("sqlite:///")), retention)
    if url.startswith(_REDIS_SCHEMES):
        from imprint.store.nonces.redis import RedisNonceStore

        return RedisNonceStore.from_url(url, retention)
    if url in ("memory:", "memory://"):
        return InMemoryNonceStore(retention)
    raise ValueError(f"unsupported nonce store URL {url!r}: "
                     "use sqlite:///PATH, redis://HOST:PORT/DB or memory:")
