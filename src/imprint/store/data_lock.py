"""One live `imprint serve` per data folder, held by an OS file lock.

The kernel releases an flock when its process ends, however it ends, so a lock file left behind by a
crash never blocks the next start: only a process that is alive holds it. The file records the holder's
pid and address for the message another start prints.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

LOCK_NAME = "serve.lock"


class DataDirInUse(Exception):
    """Another live process serves this data folder."""


class DataDirLock:
    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / LOCK_NAME
        self._file: IO[str] | None = None

    def acquire(self, holder: str) -> None:
        """Takes the lock or raises DataDirInUse naming who holds it; `holder` says who we are."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        file = open(self.path, "a+")  # noqa: SIM115 - held open for the life of the lock
        try:
            fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            file.seek(0)
            other = file.read().strip() or "another process"
            file.close()
            raise DataDirInUse(f"{self.path.parent} is in use by {other}") from None
        file.seek(0)
        file.truncate()
        file.write(f"pid {os.getpid()} ({holder})\n")
        file.flush()
        self._file = file

    def release(self) -> None:
        if self._file is not None:
            self._file.close()  # closing drops the flock
            self._file = None
