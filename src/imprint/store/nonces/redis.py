"""Signature nonces in Redis, for API processes spread over several hosts (the scaled-out setup).

A claim is one ``SET key 1 NX PX retention``: atomic across every process that shares the Redis,
and Redis forgets the nonce by itself once the retention has passed. Persistence across restarts
is whatever the Redis is configured for (AOF or RDB); a Redis that loses its data forgets nonces
like a restarted in-memory store would.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from imprint.auth.credentials import NONCE_RETENTION, Claim

PREFIX = "imprint:nonce:"


class RedisNonceStore:
    def __init__(self, client: Any, retention: timedelta = NONCE_RETENTION, *, prefix: str = PREFIX) -> None:
        self._client = client
        self._retention_ms = int(retention.total_seconds() * 1000)
        self._prefix = prefix

    @classmethod
    def from_url(cls, url: str, retention: timedelta = NONCE_RETENTION) -> RedisNonceStore:
        import redis  # the optional "scale" extra; only this configuration needs it

        return cls(redis.Redis.from_url(url), retention)

    def claim(self, access_key_id: str, nonce: str, seen_at: datetime) -> bool:
        # The expiry runs on Redis's clock from now, which is never earlier than ``seen_at`` (the
        # receipt time), so the nonce is kept at least NONCE_RETENTION after it was seen. The length
        # keeps ("a:b", "c") and ("a", "b:c") apart whatever characters ids may contain.
        return bool(self._client.set(self._key(access_key_id, nonce), b"1", nx=True, px=self._retention_ms))

    def _key(self, access_key_id: str, nonce: str) -> str:
        return f"{self._prefix}{len(access_key_id)}:{access_key_id}:{nonce}"

    def claim_many(self, claims: Sequence[Claim]) -> list[bool]:
        """One round trip for several claims; SET NX makes a nonce repeated among them go to the first."""
        pipe = self._client.pipeline(transaction=False)
        for access_key_id, nonce, _ in claims:
            pipe.set(self._key(access_key_id, nonce), b"1", nx=True, px=self._retention_ms)
        return [bool(result) for result in pipe.execute()]

    def try_claim_many(self, claims: Sequence[Claim]) -> list[bool] | None:
        return self.claim_many(claims)  # Redis serialises claims itself: there is no lock to wait on

    def close(self) -> None:
        self._client.close()
