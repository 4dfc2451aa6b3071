"""A worker host's download cache of S3 blobs (adapters, named by content hash) outlives the models:
deleting a model removes the objects and the API process's own copy, and this prunes the copies a
worker on another host made, so that nothing of a deleted model stays on any disk."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from imprint.store.rows import TrainJobRow

log = logging.getLogger(__name__)

PRUNE_INTERVAL_S = 60.0


def prune_download_cache(cache_dir: Path, sessions: sessionmaker[Session]) -> int:
    """Removes cached files whose content hash no model's adapter has any more; returns how many."""
    files = {p.name: p for p in cache_dir.glob("*/*") if p.is_file() and not p.name.startswith(".tmp-")}
    if not files:
        return 0
    with sessions() as session:
        live = set(session.scalars(select(TrainJobRow.adapter_sha256).where(
            TrainJobRow.adapter_sha256.in_(list(files)))))
    gone = [path for name, path in files.items() if name not in live]
    for path in gone:
        path.unlink(missing_ok=True)
    return len(gone)


class CachePruner:
    def __init__(self, cache_dir: Path, sessions: sessionmaker[Session], *,
                 interval_s: float = PRUNE_INTERVAL_S) -> None:
        self._dir, self._sessions, self._interval = cache_dir, sessions, interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="imprint-cache-prune", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                removed = prune_download_cache(self._dir, self._sessions)
            except Exception:
                log.warning("could not prune the download cache", exc_info=True)
                continue
            if removed:
                log.info("removed %d cached copies of deleted blobs", removed)
