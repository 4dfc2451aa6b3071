"""Group commit for nonce claims made on an event loop.

Every signed request writes its nonce, and with the shared stores that write is a transaction
(SQLite) or a round trip (Redis) of its own, the largest single cost of an image fetch after the
HTTP server itself. Requests in flight on one event loop have their claims collected until the loop
gets to the next round of callbacks, then decided together: one transaction, or one pipeline, for
the whole group. Each request still waits for its own claim to be recorded (durably, for SQLite)
before it goes on, so nothing is answered on a claim that a crash could forget.

Used through ``PendingClaim``: the verifier records its claim there instead of in the store, and the
caller awaits ``ClaimBatcher.claim`` right after verification, before anything else happens.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import datetime

from imprint.auth.credentials import NonceStore

Claim = tuple[str, str, datetime]


class PendingClaim:
    """A stand-in NonceStore for one verification: remembers the claim and lets it through."""

    __slots__ = ("claim_args",)

    def __init__(self) -> None:
        self.claim_args: Claim | None = None

    def claim(self, access_key_id: str, nonce: str, seen_at: datetime) -> bool:
        self.claim_args = (access_key_id, nonce, seen_at)
        return True


class AlreadyClaimed:
    """A stand-in NonceStore that reports every nonce as used."""

    def claim(self, access_key_id: str, nonce: str, seen_at: datetime) -> bool:
        return False


def claim_many(store: NonceStore, claims: Sequence[Claim]) -> list[bool]:
    """The store's own batch claim where it has one, else its claims one by one (same results)."""
    batch = getattr(store, "claim_many", None)
    if batch is not None:
        return list(batch(claims))
    return [store.claim(*claim) for claim in claims]


class ClaimBatcher:
    """Claims awaited on one event loop go to the store in groups. ``store`` is looked up at each
    flush, so it always is the service's current store."""

    def __init__(self, store: Callable[[], NonceStore]) -> None:
        self._store = store
        self._pending: dict[asyncio.AbstractEventLoop, list[tuple[Claim, asyncio.Future[bool]]]] = {}

    async def claim(self, access_key_id: str, nonce: str, seen_at: datetime) -> bool:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bool] = loop.create_future()
        pending = self._pending.get(loop)
        if pending is None:
            pending = self._pending[loop] = []
            # Runs once the callbacks already queued (other requests reaching this point) have run.
            loop.call_soon(self._flush, loop)
        pending.append(((access_key_id, nonce, seen_at), future))
        return await future

    def _flush(self, loop: asyncio.AbstractEventLoop) -> None:
        batch = self._pending.pop(loop, [])
        try:
            results = claim_many(self._store(), [claim for claim, _ in batch])
        except Exception as exc:  # each waiting request fails as if its own claim had raised
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, future), claimed in zip(batch, results, strict=True):
            if not future.done():  # its request may have been cancelled (client gone)
                future.set_result(claimed)
