"""Group commit of nonce claims on an event loop, and its behaviour while the SQLite store is locked."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from imprint.auth import nonce_batch
from imprint.auth.nonce_batch import ClaimBatcher
from imprint.auth.nonce_sqlite import SqliteNonceStore

T0 = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "nonces.sqlite3"


@pytest.fixture
def store(path: Path) -> Iterator[SqliteNonceStore]:
    s = SqliteNonceStore(path)
    yield s
    s.close()


def _lock(path: Path) -> sqlite3.Connection:
    """Another process's writer, as SQLite sees it: a connection holding the write lock."""
    other = sqlite3.connect(path, isolation_level=None, timeout=0)
    other.execute("BEGIN IMMEDIATE")
    return other


def test_trying_while_another_writer_holds_the_lock_claims_nothing(store: SqliteNonceStore,
                                                                   path: Path) -> None:
    other = _lock(path)
    try:
        assert store.try_claim_many([("ak", "a", T0)]) is None
        assert store.try_claim_many([("ak", "a", T0), ("ak", "b", T0)]) is None
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert store.try_claim_many([("ak", "a", T0), ("ak", "b", T0), ("ak", "a", T0)]) == [True, True, False]
    assert store.try_claim_many([("ak", "b", T0)]) == [False]
    assert len(store) == 2


def test_a_locked_store_keeps_the_batch_open_without_blocking_the_loop(store: SqliteNonceStore,
                                                                       path: Path) -> None:
    calls: list[int] = []
    original = store.try_claim_many

    def counting(claims):  # type: ignore[no-untyped-def]
        calls.append(len(claims))
        return original(claims)

    store.try_claim_many = counting  # type: ignore[method-assign]
    batcher = ClaimBatcher(lambda: store)

    async def go() -> tuple[list[bool], int]:
        other = _lock(path)
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0)
                ticks += 1

        tick = asyncio.create_task(ticker())
        first = asyncio.gather(*(batcher.claim("ak", f"n{i}", T0) for i in range(3)))
        await asyncio.sleep(0.02)  # the lock is held: the loop keeps running other work meanwhile
        later = asyncio.gather(batcher.claim("ak", "n1", T0), batcher.claim("ak", "late", T0))
        await asyncio.sleep(0.01)
        other.execute("ROLLBACK")
        other.close()
        results = await first + await later
        tick.cancel()
        return results, ticks

    results, ticks = asyncio.run(go())
    assert results == [True, True, True, False, True]  # the late replay of n1 lost to the first
    assert ticks > 50
    assert calls[-1] == 5 and all(n in (3, 5) for n in calls)  # late claims joined the open batch


def test_a_store_locked_past_the_deadline_fails_the_waiting_requests(store: SqliteNonceStore, path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(nonce_batch, "BUSY_DEADLINE_S", 0.05)
    batcher = ClaimBatcher(lambda: store)
    other = _lock(path)
    try:
        with pytest.raises(TimeoutError, match="locked"):
            asyncio.run(batcher.claim("ak", "n", T0))
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert asyncio.run(batcher.claim("ak", "n", T0)) is True  # nothing was claimed by the failed try
