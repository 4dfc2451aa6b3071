"""Signature nonces in a SQLite file of their own, shared by every API process on the host.

The default store: it survives restarts (a request captured before a restart cannot be replayed
after it) and lets several worker processes refuse each other's replays. It is a separate file
from the main database so that claims, one write per signed request, never queue behind job
transactions, and because the main database may be PostgreSQL while this stays local.

Each claim is one upsert on the primary key, so the check and the record are atomic across
processes. The key is a 63-bit digest of (access_key_id, nonce) rather than the two strings: a row
of the integer-keyed table is about a fifth of the size, so the B-tree a claim descends and the
pages its commit writes are that much smaller (18 us of CPU a claim instead of 26, two processes
claiming in batches of 8). Two different pairs sharing a digest (about one chance in 10^4 at 10^8
claims within a retention) would refuse the later request as a replay: it fails closed. WAL with
``synchronous=NORMAL`` survives a crash of the process; only the last claims before a power cut may
be lost.

Costs, measured because a claim is on the path of every signed request: the table has no index
besides its key (a ``seen_at`` index doubled the pages each commit writes), so expired rows are
found by sweeping the key range in small slices; and WAL checkpoints, which fsync, run on a
background thread rather than in whichever claim crosses the autocheckpoint threshold.
"""

from __future__ import annotations

import contextlib
import hashlib
import random
import sqlite3
import threading
import time
import weakref
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

from imprint.auth.credentials import NONCE_RETENTION, Claim
from imprint.auth.timestamps import as_utc

_SCHEMA = "CREATE TABLE IF NOT EXISTS claims (id INTEGER PRIMARY KEY, seen_at REAL NOT NULL)"

# An existing row only blocks the claim while it is within the retention; an older one is taken
# over, exactly like a forgotten nonce in the in-memory store.
_CLAIM = """
INSERT INTO claims (id, seen_at) VALUES (?, ?)
ON CONFLICT (id) DO UPDATE SET seen_at = excluded.seen_at WHERE claims.seen_at < ?
"""

_SLICE_END = "SELECT id FROM claims WHERE id > ? ORDER BY id LIMIT 1 OFFSET ?"
_PRUNE_SLICE = "DELETE FROM claims WHERE id > ? AND id <= ? AND seen_at < ?"
_PRUNE_TAIL = "DELETE FROM claims WHERE id > ? AND seen_at < ?"

# Files written before the digest key held the strings themselves; their claims are carried over.
_OLD_TABLE = "nonces"
_MIGRATE = f"""
INSERT OR IGNORE INTO claims (id, seen_at) SELECT claim_id(access_key_id, nonce), seen_at FROM {_OLD_TABLE}
"""

# Every PRUNE_EVERY claims a process looks at the next PRUNE_SLICE rows in key order and deletes
# the expired ones. Two rows looked at per claim means a full sweep every half retention, so the
# table never holds much more than 1.5 retentions' worth of claims.
PRUNE_EVERY = 256
PRUNE_SLICE = 512

CHECKPOINT_INTERVAL_S = 1.0
# The log length (pages) past which a checkpoint restarts it, holding claims back briefly.
_RESTART_FRAMES = 4096
# A restarted log is cut back to this size, so a burst does not leave a large file behind.
_WAL_SIZE_LIMIT = 4 * 1024 * 1024

# How long a claim waits for another process's write before failing the request; SQLite's own
# busy handler sleeps in steps of whole milliseconds, far longer than a claim holds the lock.
_BUSY_DEADLINE_S = 5.0

_START = -1  # below every id


def claim_id(access_key_id: str, nonce: str) -> int:
    """The row key of a claim: 63 bits of BLAKE2b over the pair (NUL cannot occur in either), so
    that it is a non-negative SQLite integer."""
    digest = hashlib.blake2b(f"{access_key_id}\0{nonce}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1


class SqliteNonceStore:
    """Thread-safe and multi-process-safe; create it in the process that uses it (after any fork)."""

    def __init__(self, path: Path, retention: timedelta = NONCE_RETENTION) -> None:
        self.path = path
        self._retention_s = retention.total_seconds()
        path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: every statement is its own transaction, so the write lock is held
        # for one upsert only. timeout=0: waiting is done by _run, with sub-millisecond backoff.
        self._conn = sqlite3.connect(path, isolation_level=None, timeout=0, check_same_thread=False)
        self._lock = threading.Lock()
        self._claims = 0
        self._sweep_from = _START
        with self._lock:
            # Small pages: every commit appends each page it dirtied to the WAL whole. Only takes
            # effect when the file is created.
            self._run("PRAGMA page_size=1024")
            self._run("PRAGMA journal_mode=WAL")
            self._run("PRAGMA synchronous=NORMAL")
            self._run("PRAGMA wal_autocheckpoint=0")
            self._run(f"PRAGMA journal_size_limit={_WAL_SIZE_LIMIT}")
            self._run(_SCHEMA)
            self._migrate()
        self._stop = threading.Event()
        # The thread holds only a weak reference, so a store nobody closed does not keep it running.
        self._checkpointer = threading.Thread(target=_checkpoint_loop, name="imprint-nonce-checkpoint",
                                              args=(weakref.ref(self), path, self._stop), daemon=True)
        self._checkpointer.start()

    def claim(self, access_key_id: str, nonce: str, seen_at: datetime) -> bool:
        return self.claim_many([(access_key_id, nonce, seen_at)])[0]

    def claim_many(self, claims: Sequence[Claim]) -> list[bool]:
        """Several claims in one transaction: one commit, and one WAL append, for all of them. Each
        is decided in order, so a nonce repeated within ``claims`` is granted to the first only."""
        results = self._claim_rows(self._rows(claims), wait=True)
        assert results is not None  # only a call that does not wait gives up
        return results

    def try_claim_many(self, claims: Sequence[Claim]) -> list[bool] | None:
        """``claim_many``, or None at once, having claimed nothing, while another process holds the
        write lock: the caller can get on with other work (an event loop: other requests) and retry,
        where ``claim_many`` would sleep until the lock is free."""
        return self._claim_rows(self._rows(claims), wait=False)

    def _rows(self, claims: Sequence[Claim]) -> list[tuple[int, float, float]]:
        retention = self._retention_s
        rows = []
        for key_id, nonce, seen_at in claims:
            at = as_utc(seen_at).timestamp()
            rows.append((claim_id(key_id, nonce), at, at - retention))
        return rows

    def _claim_rows(self, rows: list[tuple[int, float, float]], *, wait: bool) -> list[bool] | None:
        if not rows:
            return []
        with self._lock:
            # One claim is one autocommitted upsert; an explicit transaction would only add its BEGIN
            # and COMMIT. Either way the first statement takes the write lock or fails with nothing done.
            first = _CLAIM if len(rows) == 1 else "BEGIN IMMEDIATE"
            first_args = rows[0] if len(rows) == 1 else ()
            if wait:
                cursor = self._run(first, first_args)
            else:
                try:
                    cursor = self._conn.execute(first, first_args)
                except sqlite3.OperationalError as exc:
                    if _busy(exc):
                        return None
                    raise
            if len(rows) == 1:
                results = [cursor.rowcount == 1]
                self._count(rows)
                return results
            try:
                execute = self._conn.execute
                results = [execute(_CLAIM, row).rowcount == 1 for row in rows]
                self._count(rows)
                self._conn.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise
        return results

    def _count(self, rows: list[tuple[int, float, float]]) -> None:
        before = self._claims
        self._claims += len(rows)
        if rows and self._claims // PRUNE_EVERY != before // PRUNE_EVERY:
            self._prune_slice(rows[-1][2])

    def prune(self, now: datetime) -> int:
        """Deletes every expired nonce at once; returns how many (maintenance and tests)."""
        cutoff = as_utc(now).timestamp() - self._retention_s
        with self._lock:
            return self._run("DELETE FROM claims WHERE seen_at < ?", (cutoff,)).rowcount

    def __len__(self) -> int:
        with self._lock:
            return int(self._run("SELECT count(*) FROM claims").fetchone()[0])

    def close(self) -> None:
        self._stop.set()
        self._checkpointer.join(5)
        with self._lock:
            self._conn.close()

    def _prune_slice(self, cutoff: float) -> None:
        start = self._sweep_from
        end = self._run(_SLICE_END, (start, PRUNE_SLICE - 1)).fetchone()
        if end is None:  # the last slice: delete to the end, and start over next time
            self._run(_PRUNE_TAIL, (start, cutoff))
            self._sweep_from = _START
        else:
            self._run(_PRUNE_SLICE, (start, end[0], cutoff))
            self._sweep_from = end[0]

    def _migrate(self) -> None:
        old = self._run("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (_OLD_TABLE,))
        if old.fetchone() is None:
            return
        self._conn.create_function("claim_id", 2, claim_id, deterministic=True)
        self._run("BEGIN IMMEDIATE")
        try:
            # Another process may have migrated it meanwhile: look again inside the transaction.
            if self._conn.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (_OLD_TABLE,)).fetchone():
                self._conn.execute(_MIGRATE)
                self._conn.execute(f"DROP TABLE {_OLD_TABLE}")
            self._conn.execute("COMMIT")
        except BaseException:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            raise

    def _run(self, sql: str, args: tuple[object, ...] = ()) -> sqlite3.Cursor:
        deadline = time.monotonic() + _BUSY_DEADLINE_S
        pause = 20e-6
        while True:
            try:
                return self._conn.execute(sql, args)
            except sqlite3.OperationalError as exc:
                if not _busy(exc) or time.monotonic() > deadline:
                    raise
            # Jittered, growing pauses: another process holds the write lock for microseconds.
            time.sleep(pause * (0.5 + random.random()))
            pause = min(pause * 2, 2e-3)


def _busy(exc: sqlite3.OperationalError) -> bool:
    return "locked" in str(exc) or "busy" in str(exc)


def _checkpoint_loop(store: weakref.ref[SqliteNonceStore], path: Path, stop: threading.Event) -> None:
    # Its own connection, so the fsyncs happen outside the claim lock. A passive checkpoint does the
    # bulk of the copying without holding claims back, and when claims pause it catches up and the
    # next claim starts the log anew. Under a steady stream it never catches up and the log would
    # grow without end; once it is long, a RESTART holds claims back for the tail written meanwhile
    # (10-30 ms here, two fsyncs) so that the next claim starts the log anew.
    conn = sqlite3.connect(path, isolation_level=None, timeout=1.0, check_same_thread=False)
    try:
        conn.execute(f"PRAGMA journal_size_limit={_WAL_SIZE_LIMIT}")
        while not stop.wait(CHECKPOINT_INTERVAL_S) and store() is not None:
            with contextlib.suppress(sqlite3.OperationalError):  # busy: the next round catches up
                _, log_frames, _ = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                if log_frames > _RESTART_FRAMES:
                    conn.execute("PRAGMA wal_checkpoint(RESTART)")
    finally:
        conn.close()
