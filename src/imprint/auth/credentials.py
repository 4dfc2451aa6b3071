"""What the verifier needs to know about AccessKeys and seen nonces, and the in-memory nonce store."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

TIMESTAMP_WINDOW = timedelta(minutes=15)
# A request stamped up to one window in the future stays acceptable until one window after its
# stamp, i.e. up to two windows after it was first seen; forgetting its nonce earlier would let it
# be replayed inside that gap.
NONCE_RETENTION = 2 * TIMESTAMP_WINDOW


@dataclass(frozen=True)
class AccessKey:
    """A stored AccessKey. A temporary (STS) key carries its security token and expiry."""

    access_key_id: str
    secret: str
    account_id: str
    user_id: str | None
    active: bool
    security_token: str | None = None
    expires_at: datetime | None = None
    # JSON text of the inline policy a temporary key was issued with; it can only narrow the user's.
    session_policy: str | None = None

    @property
    def is_temporary(self) -> bool:
        return self.security_token is not None

    def __repr__(self) -> str:
        # Keeps the secret and token out of logs and tracebacks.
        return (
            f"AccessKey(access_key_id={self.access_key_id!r}, account_id={self.account_id!r}, "
            f"user_id={self.user_id!r}, active={self.active}, temporary={self.is_temporary})"
        )


class KeyLookup(Protocol):
    def get(self, access_key_id: str) -> AccessKey | None: ...


class NonceStore(Protocol):
    """Remembers signature nonces per AccessKey.

    ``claim`` returns True the first time a nonce is seen and False on a replay. ``seen_at`` is the
    server's receipt time; an implementation must remember a nonce for at least ``NONCE_RETENTION``
    after it, and may forget it afterwards (the timestamp check rejects such old requests anyway).
    """

    def claim(self, access_key_id: str, nonce: str, seen_at: datetime) -> bool: ...


class InMemoryNonceStore:
    """Process-local, thread-safe nonce store; fine for one API process, not for several."""

    def __init__(self, retention: timedelta = NONCE_RETENTION) -> None:
        self._retention = retention
        self._lock = threading.Lock()
        self._seen: dict[tuple[str, str], datetime] = {}
        self._order: deque[tuple[datetime, tuple[str, str]]] = deque()

    def claim(self, access_key_id: str, nonce: str, seen_at: datetime) -> bool:
        key = (access_key_id, nonce)
        cutoff = seen_at - self._retention
        with self._lock:
            self._prune(cutoff)
            previous = self._seen.get(key)
            if previous is not None and previous >= cutoff:
                return False
            self._seen[key] = seen_at
            self._order.append((seen_at, key))
            return True

    def __len__(self) -> int:
        with self._lock:
            return len(self._seen)

    def _prune(self, cutoff: datetime) -> None:
        # Receipt times are nearly monotonic, so pruning from the left is enough; an entry that a
        # later re-claim refreshed stays because its stored time no longer equals the queued one.
        while self._order and self._order[0][0] < cutoff:
            when, key = self._order.popleft()
            if self._seen.get(key) == when:
                del self._seen[key]
