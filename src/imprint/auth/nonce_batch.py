"""Group commit for nonce claims made on an event loop.

Every signed request writes its nonce, and with the shared stores that write is a transaction
(SQLite) or a round trip (Redis) of its own, the largest single cost of an image fetch after the
HTTP server itself. Requests in flight on one event loop have their claims collected until the loop
gets to the next round of callbacks, then decided together: one transaction, or one pipeline, for
the whole group. Each request still waits for its own claim to be recorded (durably, for SQLite)
before it goes on, so nothing is answered on a claim that a crash could forget. A store that can
be tried without waiting (SQLite's ``try_claim_many``) is: while another process holds its write
lock the batch stays open, taking in the claims of requests that arrive meanwhile, and is tried
again after a pause spent on other requests instead of asleep on the loop.

Used through ``PendingClaim``: the verifier records its claim there instead of in the store, and the
caller awaits ``ClaimBatcher.claim`` right after verification, before anything else happens.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import datetime

from imprint.auth.credentials import NonceStore

Claim = tuple[str, str, datetime]
Waiting = tuple[Claim, "asyncio.Future[bool]"]

# A batch that finds the store locked is tried again after this, then after growing pauses (the time
# waited so far, at most RETRY_MAX_S), and fails its requests after BUSY_DEADLINE_S.
RETRY_FIRST_S = 50e-6
RETRY_MAX_S = 2e-3
BUSY_DEADLINE_S = 5.0


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
        self._pending: dict[asyncio.AbstractEventLoop, list[Waiting]] = {}
        self._busy_since: dict[asyncio.AbstractEventLoop, float] = {}

    async def claim(self, access_key_id: str, nonce: str, seen_at: datetime) -> bool:
        return await self.claim_future(asyncio.get_running_loop(), (access_key_id, nonce, seen_at))

    def claim_future(self, loop: asyncio.AbstractEventLoop, claim: Claim) -> asyncio.Future[bool]:
        """The claim, joined to this loop round's batch; the future is True when it was new."""
        future: asyncio.Future[bool] = loop.create_future()
        pending = self._pending.get(loop)
        if pending is None:
            pending = self._pending[loop] = []
            # Runs once the callbacks already queued (other requests reaching this point) have run.
            loop.call_soon(self._flush, loop)
        pending.append((claim, future))
        return future

    def _flush(self, loop: asyncio.AbstractEventLoop) -> None:
        batch = self._pending.pop(loop, [])
        store = self._store()
        claims = [claim for claim, _ in batch]
        try:
            attempt = getattr(store, "try_claim_many", None)
            if attempt is None:
                results = claim_many(store, claims)
            else:
                results = attempt(claims)
                if results is None:
                    self._retry_later(loop, batch)
                    return
        except Exception as exc:  # each waiting request fails as if its own claim had raised
            self._busy_since.pop(loop, None)
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        self._busy_since.pop(loop, None)
        for (_, future), claimed in zip(batch, results, strict=True):
            if not future.done():  # its request may have been cancelled (client gone)
                future.set_result(claimed)

    def _retry_later(self, loop: asyncio.AbstractEventLoop, batch: list[Waiting]) -> None:
        """Another process holds the store's write lock (for well under a millisecond, or for a WAL
        checkpoint's tens). Rather than sleep on the loop, as the store's own wait would, keep the
        batch pending, so that requests arriving meanwhile join it, and try again shortly."""
        now = loop.time()
        since = self._busy_since.setdefault(loop, now)
        if now - since > BUSY_DEADLINE_S:
            self._busy_since.pop(loop, None)
            error = TimeoutError(f"the nonce store stayed locked for {BUSY_DEADLINE_S:.0f} s")
            for _, future in batch:
                if not future.done():
                    future.set_exception(error)
            return
        self._pending[loop] = batch  # nothing else ran since the pop: no claim joined in between
        waited = now - since
        loop.call_later(min(RETRY_MAX_S, RETRY_FIRST_S + waited), self._flush, loop)
