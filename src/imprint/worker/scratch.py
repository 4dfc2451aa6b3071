"""Scratch folders for one job under the work directory, and the sweep of those a dead process left.

A worker killed mid-job (kill -9, a lost machine) never runs its cleanup, so its folder stays. Each
folder is named after the host and process that made it; on start, a worker removes every folder of
its host whose process is gone. Folders of live processes (other workers sharing the data directory)
and of other hosts are left alone.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger(__name__)

_PREFIX = "job-"


def _owner_prefix() -> str:
    return f"{_PREFIX}{socket.gethostname()}-{os.getpid()}-"


@contextmanager
def job_folder(work_dir: Path) -> Iterator[Path]:
    work_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=work_dir, prefix=_owner_prefix()) as tmp:
        yield Path(tmp)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def sweep(work_dir: Path) -> int:
    """Removes the folders dead processes of this host left (and the nameless ones of older
    versions when empty); returns how many."""
    if not work_dir.is_dir():
        return 0
    host = f"{_PREFIX}{socket.gethostname()}-"
    removed = 0
    for folder in work_dir.iterdir():
        if not folder.is_dir():
            continue
        name = folder.name
        if name.startswith(host):
            pid = name[len(host):].split("-", 1)[0]
            if not pid.isdigit() or _alive(int(pid)):
                continue
            shutil.rmtree(folder, ignore_errors=True)
        elif name.startswith("tmp") and not any(folder.iterdir()):
            folder.rmdir()  # tempfile's default names, from before folders were named by owner
        else:
            continue
        removed += 1
    if removed:
        log.info("removed %d scratch folder(s) left by stopped workers in %s", removed, work_dir)
    return removed
