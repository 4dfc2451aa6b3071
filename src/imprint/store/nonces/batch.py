"""Group commit for nonce claims made on an event loop.

Every signed request writes its nonce, and with the shared stores that write is a transaction
(SQLite) or a round trip (Redis) of its own, the largest single cost of a cheap read after the HTTP
server itself. Requests in flight on one event loop have their claims collected until the loop gets
to the next round of callbacks, then decided together: one transaction, or one pipeline, for the
whole group. Each request still waits for its own claim to be recorded (durably, for SQLite) before
it goes on, so nothing is answered on a claim that a crash could forget. The group is tried without
waiting (``NonceStore.try_claim_many``): while another process holds SQLite's write lock the batch
stays open, taking in the claims of requests that arrive meanwhile, and is tried again after a
pause spent on other requests instead of asleep on the loop.

The API's dispatcher awaits ``ClaimBatcher.claim`` right after the signature check, for every
operation, before anything else happens.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from imprint.auth.credentials import Claim, NonceStore

Waiting = tuple[Claim, "asyncio.Future[bool]"]

# A batch that finds the store locked is tried again after this, then after growing pauses (the time
# waited so far, at most RETRY_MAX_S), and fails its requests after BUSY_DEADLINE_S.
RETRY_FIRST_S = 50e-6
RETRY_MAX_S = 2e-3
BUSY_DEADLINE_S = 5.0


class ClaimBatcher:
    """Claims awaited on one event loop go to the store in groups. ``store`` is looked up at each
    flush, so it always is the service's current store."""

    def __init__(self, store: Callable[[], NonceStore]) -> None:
        self._store = store
        self._pending: dict[asyncio.AbstractEventLoop, list[Waiting]] = {}
        self._busy_since: dict[asyncio.AbstractEventLoop, float] = {}

    async def claim(self, claim: Claim) -> bool:
        """True when the nonce was new (and is now recorded), False on a replay."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bool] = loop.create_future()
        pending = self._pending.get(loop)
        if pending is None:
            pending = self._pending[loop] = []
            # Runs once the callbacks already queued (other requests reaching this point) have run.
            loop.call_soon(self._flush, loop)
        pending.append((claim, future))
        return await future

    def _flush(self, loop: asyncio.AbstractEventLoop) -> None:
        batch = self._pending.pop(loop, [])
        try:
            results = self._store().try_claim_many([claim for claim, _ in batch])
        except Exception as exc:  # each waiting request fails as if its own claim had raised
            self._busy_since.pop(loop, None)
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        if results is None:
            self._retry_later(loop, batch)
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
        # Nothing else ran since the pop, so no claim joined in between; those that join from now on
        # find the batch pending and ride on this retry.
        self._pending[loop] = batch
        waited = now - since
        loop.call_later(min(RETRY_MAX_S, RETRY_FIRST_S + waited), self._flush, loop)
