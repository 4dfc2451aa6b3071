"""The SQLite nonce store: the in-memory store's semantics, plus sharing between processes and
surviving restarts, and the group commit's behaviour while another process holds its lock."""

from __future__ import annotations

import asyncio
import multiprocessing
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from imprint.auth import NONCE_RETENTION, TIMESTAMP_WINDOW
from imprint.store.nonces import batch as nonce_batch
from imprint.store.nonces import open_nonce_store
from imprint.store.nonces import sqlite as ns
from imprint.store.nonces.batch import ClaimBatcher
from imprint.store.nonces.sqlite import SqliteNonceStore

T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "nonces.sqlite3"


@pytest.fixture
def store(path: Path) -> Iterator[SqliteNonceStore]:
    s = SqliteNonceStore(path)
    yield s
    s.close()


def test_first_claim_wins_and_replay_loses(store: SqliteNonceStore) -> None:
    assert store.claim("ak", "n1", T0) is True
    assert store.claim("ak", "n1", T0 + timedelta(seconds=1)) is False
    assert store.claim("ak", "n2", T0) is True


def test_nonces_are_per_access_key(store: SqliteNonceStore) -> None:
    assert store.claim("ak-1", "n", T0) is True
    assert store.claim("ak-2", "n", T0) is True
    assert store.claim("ak-1", "n", T0) is False


def test_retention_covers_a_request_stamped_a_full_window_ahead(store: SqliteNonceStore) -> None:
    assert NONCE_RETENTION == 2 * TIMESTAMP_WINDOW
    store.claim("ak", "n", T0)
    assert store.claim("ak", "n", T0 + NONCE_RETENTION) is False


def test_an_expired_nonce_may_be_claimed_again_and_is_then_remembered(store: SqliteNonceStore) -> None:
    store.claim("ak", "n", T0)
    later = T0 + NONCE_RETENTION + timedelta(seconds=1)
    assert store.claim("ak", "n", later) is True
    assert store.claim("ak", "n", later + timedelta(seconds=1)) is False


def test_naive_times_are_utc(store: SqliteNonceStore) -> None:
    store.claim("ak", "n", T0.replace(tzinfo=None))
    assert store.claim("ak", "n", T0 + timedelta(minutes=1)) is False


def test_a_replay_is_refused_after_a_restart(path: Path) -> None:
    first = SqliteNonceStore(path)
    assert first.claim("ak", "captured", T0) is True
    first.close()
    restarted = SqliteNonceStore(path)
    try:
        assert restarted.claim("ak", "captured", T0 + timedelta(minutes=5)) is False
        assert restarted.claim("ak", "fresh", T0 + timedelta(minutes=5)) is True
    finally:
        restarted.close()


def test_two_stores_on_one_file_refuse_each_others_replays(path: Path) -> None:
    a, b = SqliteNonceStore(path), SqliteNonceStore(path)
    try:
        assert a.claim("ak", "n", T0) is True
        assert b.claim("ak", "n", T0) is False
        assert b.claim("ak", "m", T0) is True
        assert a.claim("ak", "m", T0) is False
    finally:
        a.close()
        b.close()


def test_claim_many_decides_in_order(store: SqliteNonceStore) -> None:
    store.claim("ak", "old", T0)
    claims = [("ak", "a", T0), ("ak", "old", T0), ("ak", "a", T0), ("ak2", "a", T0), ("ak", "b", T0)]
    assert store.claim_many(claims) == [True, False, False, True, True]
    assert store.claim_many([("ak", "b", T0)]) == [False]
    assert store.claim_many([]) == []


def test_concurrent_claims_of_one_nonce_have_one_winner(store: SqliteNonceStore) -> None:
    results: list[bool] = []
    barrier = threading.Barrier(8)

    def claim() -> None:
        barrier.wait()
        results.append(store.claim("ak", "same", T0))

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 7 + [True]


def _claim_in_process(path: str, nonces: list[str], out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    store = SqliteNonceStore(Path(path))
    out.put([n for n in nonces if store.claim("ak", n, T0)])
    store.close()


def test_processes_racing_on_the_same_nonces_get_each_once(path: Path) -> None:
    SqliteNonceStore(path).close()  # schema in place before the race
    nonces = [f"n{i}" for i in range(200)]
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=_claim_in_process, args=(str(path), nonces, out)) for _ in range(3)]
    for p in procs:
        p.start()
    won = [n for _ in procs for n in out.get(timeout=120)]
    for p in procs:
        p.join(30)
    assert sorted(won) == sorted(nonces)


def test_expired_rows_are_swept_in_slices(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ns, "PRUNE_EVERY", 10)
    monkeypatch.setattr(ns, "PRUNE_SLICE", 20)
    store = SqliteNonceStore(path, retention=timedelta(seconds=10))
    try:
        for i in range(100):
            store.claim("ak", f"old-{i}", T0)
        assert len(store) == 100
        later = T0 + timedelta(seconds=30)
        for i in range(100):  # two rows looked at per claim: one pass over the table suffices
            store.claim("ak", f"new-{i}", later)
        assert len(store) < 120
        assert store.claim("ak", "new-5", later) is False
    finally:
        store.close()


def test_prune_deletes_every_expired_nonce(store: SqliteNonceStore) -> None:
    store.claim("ak", "old", T0)
    store.claim("ak", "new", T0 + NONCE_RETENTION)
    assert store.prune(T0 + NONCE_RETENTION + timedelta(seconds=1)) == 1
    assert len(store) == 1


def test_the_file_is_in_wal_mode_with_small_pages(store: SqliteNonceStore, path: Path) -> None:
    store.claim("ak", "n", T0)
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA page_size").fetchone()[0] == 1024
    finally:
        conn.close()


def test_store_urls(tmp_path: Path) -> None:
    sqlite_store = open_nonce_store(f"sqlite:///{tmp_path / 'n.sqlite3'}")
    assert isinstance(sqlite_store, SqliteNonceStore) and sqlite_store.path == tmp_path / "n.sqlite3"
    sqlite_store.close()
    memory = open_nonce_store("memory:")
    assert memory.claim("ak", "n", T0) is True and memory.claim("ak", "n", T0) is False
    with pytest.raises(ValueError, match="unsupported nonce store URL"):
        open_nonce_store("postgresql://localhost/nonces")


def test_settings_put_the_default_store_in_the_data_directory(tmp_path: Path) -> None:
    from imprint.config import Settings

    url = Settings(data_dir=tmp_path).nonce_url
    assert url == f"sqlite:///{(tmp_path / 'nonces.sqlite3').resolve()}"
    assert Settings(data_dir=tmp_path, nonce_store_url="redis://h:1/0").nonce_url == "redis://h:1/0"


def test_claims_in_a_file_from_before_the_digest_key_are_kept(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE nonces (access_key_id TEXT NOT NULL, nonce TEXT NOT NULL,"
                 " seen_at REAL NOT NULL, PRIMARY KEY (access_key_id, nonce)) WITHOUT ROWID")
    conn.execute("INSERT INTO nonces VALUES ('ak', 'before', ?)", (T0.timestamp(),))
    conn.commit()
    conn.close()
    store = SqliteNonceStore(path)
    try:
        assert store.claim("ak", "before", T0) is False  # still a replay after the upgrade
        assert store.claim("ak", "after", T0) is True
        assert len(store) == 2
    finally:
        store.close()
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall() == [("claims",)]
    finally:
        conn.close()


def test_the_key_is_a_digest_of_both_parts() -> None:
    assert ns.claim_id("ak", "n") == ns.claim_id("ak", "n")
    ids = {ns.claim_id("ak", "n"), ns.claim_id("a", "kn"), ns.claim_id("ak", "m"), ns.claim_id("bk", "n")}
    assert len(ids) == 4 and all(0 <= i < 2**63 for i in ids)


# --- group commit (store/nonces/batch.py) while the store is locked ----------------------------


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
        first = asyncio.gather(*(batcher.claim(("ak", f"n{i}", T0)) for i in range(3)))
        await asyncio.sleep(0.02)  # the lock is held: the loop keeps running other work meanwhile
        later = asyncio.gather(batcher.claim(("ak", "n1", T0)), batcher.claim(("ak", "late", T0)))
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
            asyncio.run(batcher.claim(("ak", "n", T0)))
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert asyncio.run(batcher.claim(("ak", "n", T0))) is True  # nothing was claimed by the failed try
