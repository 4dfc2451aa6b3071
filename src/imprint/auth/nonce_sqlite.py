"""Signature nonces in a SQLite file of their own, shared by every API process on the host.

The default store: it survives restarts (a request captured before a restart cannot be replayed
after it) and lets several worker processes refuse each other's replays. It is a separate file
from the main database so that claims, one write per signed request, never queue behind job
transactions, and because the main database may be PostgreSQL while this stays local.

Each claim is one autocommitted upsert on the primary key (access_key_id, nonce), so the check and
the record are atomic across processes. WAL with ``synchronous=NORMAL`` survives a crash of the
process; only the last claims before a power cut may be lost.

Costs, measured because a claim is on the path of every signed request: the table has no index
besides its key (a ``seen_at`` index doubled the pages each commit writes), so expired rows are
found by sweeping the key range in small slices; and WAL checkpoints, which fsync, run on a
background thread rather than in whichever claim crosses the autocheckpoint threshold.
"""

from __future__ import annotations

import contextlib
import random
import sqlite3
import threading
import time
import weakref
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

from imprint.auth.credentials import NONCE_RETENTION
from imprint.auth.timestamps import as_utc

_SCHEMA = """
CREATE TABLE IF NOT EXISTS nonces (
    access_key_id TEXT NOT NULL,
    nonce TEXT NOT NULL,
    seen_at REAL NOT NULL,
    PRIMARY KEY (access_key_id, nonce)
) WITHOUT ROWID
"""

# An existing row only blocks the claim while it is within the retention; an older one is taken
# over, exactly like a forgotten nonce in the in-memory store.
_CLAIM = """
INSERT INTO nonces (access_key_id, nonce, seen_at) VALUES (?, ?, ?)
ON CONFLICT (access_key_id, nonce) DO UPDATE SET seen_at = excluded.seen_at WHERE nonces.seen_at < ?
"""

_SLICE_END = """
SELECT access_key_id, nonce FROM nonces WHERE (access_key_id, nonce) > (?, ?)
ORDER BY access_key_id, nonce LIMIT 1 OFFSET ?
"""
_PRUNE_SLICE = """
DELETE FROM nonces WHERE (access_key_id, nonce) > (?, ?) AND (access_key_id, nonce) <= (?, ?) AND seen_at < ?
"""
_PRUNE_TAIL = "DELETE FROM nonces WHERE (access_key_id, nonce) > (?, ?) AND seen_at < ?"

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

_START = ("", "")


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
        self._sweep_from: tuple[str, str] = _START
        with self._lock:
            # Small pages: every commit appends each page it dirtied to the WAL whole. Only takes
            # effect when the file is created.
            self._run("PRAGMA page_size=1024")
            self._run("PRAGMA journal_mode=WAL")
            self._run("PRAGMA synchronous=NORMAL")
            self._run("PRAGMA wal_autocheckpoint=0")
            self._run(f"PRAGMA journal_size_limit={_WAL_SIZE_LIMIT}")
            self._run(_SCHEMA)
        self._stop = threading.Event()
        # The thread holds only a weak reference, so a store nobody closed does not keep it running.
        self._checkpointer = threading.Thread(target=_checkpoint_loop, name="imprint-nonce-checkpoint",
                                              args=(weakref.ref(self), path, self._stop), daemon=True)
        self._checkpointer.start()

    def claim(self, access_key_id: str, nonce: str, seen_at: datetime) -> bool:
        at = as_utc(seen_at).timestamp()
        cutoff = at - self._retention_s
        with self._lock:
            claimed = self._run(_CLAIM, (access_key_id, nonce, at, cutoff)).rowcount == 1
            self._claims += 1
            if self._claims % PRUNE_EVERY == 0:
                self._prune_slice(cutoff)
        return claimed

    def claim_many(self, claims: Sequence[tuple[str, str, datetime]]) -> list[bool]:
        """Several claims in one transaction: one commit, and one WAL append, for all of them. Each
        is decided in order, so a nonce repeated within ``claims`` is granted to the first only."""
        if len(claims) == 1:  # an explicit transaction would only add its BEGIN and COMMIT
            return [self.claim(*claims[0])]
        rows = [(key_id, nonce, as_utc(seen_at).timestamp()) for key_id, nonce, seen_at in claims]
        with self._lock:
            self._run("BEGIN IMMEDIATE")
            try:
                results = [self._conn.execute(_CLAIM, (*row, row[2] - self._retention_s)).rowcount == 1
                           for row in rows]
                before = self._claims
                self._claims += len(rows)
                if rows and self._claims // PRUNE_EVERY != before // PRUNE_EVERY:
                    self._prune_slice(rows[-1][2] - self._retention_s)
                self._conn.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise
        return results

    def prune(self, now: datetime) -> int:
        """Deletes every expired nonce at once; returns how many (maintenance and tests)."""
        cutoff = as_utc(now).timestamp() - self._retention_s
        with self._lock:
            return self._run("DELETE FROM nonces WHERE seen_at < ?", (cutoff,)).rowcount

    def __len__(self) -> int:
        with self._lock:
            return int(self._run("SELECT count(*) FROM nonces").fetchone()[0])

    def close(self) -> None:
        self._stop.set()
        self._checkpointer.join(5)
        with self._lock:
            self._conn.close()

    def _prune_slice(self, cutoff: float) -> None:
        start = self._sweep_from
        end = self._run(_SLICE_END, (*start, PRUNE_SLICE - 1)).fetchone()
        if end is None:  # the last slice: delete to the end, and start over next time
            self._run(_PRUNE_TAIL, (*start, cutoff))
            self._sweep_from = _START
        else:
            self._run(_PRUNE_SLICE, (*start, *end, cutoff))
            self._sweep_from = (end[0], end[1])

    def _run(self, sql: str, args: tuple[object, ...] = ()) -> sqlite3.Cursor:
        deadline = time.monotonic() + _BUSY_DEADLINE_S
        pause = 20e-6
        while True:
            try:
                return self._conn.execute(sql, args)
            except sqlite3.OperationalError as exc:
                busy = "locked" in str(exc) or "busy" in str(exc)
                if not busy or time.monotonic() > deadline:
                    raise
            # Jittered, growing pauses: another process holds the write lock for microseconds.
            time.sleep(pause * (0.5 + random.random()))
            pause = min(pause * 2, 2e-3)


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
