"""Signature nonces in this process's memory: fine for one API process, not for several."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Sequence
from datetime import datetime, timedelta

from imprint.auth.credentials import NONCE_RETENTION, Claim


class InMemoryNonceStore:
    """Process-local and thread-safe; forgotten on restart."""

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

    def claim_many(self, claims: Sequence[Claim]) -> list[bool]:
        return [self.claim(*claim) for claim in claims]

    def try_claim_many(self, claims: Sequence[Claim]) -> list[bool] | None:
        return self.claim_many(claims)  # never waits for anyone else

    def close(self) -> None:
        pass

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
