"""Worker threads inside the serving process, one pool per lane. Memory only holds ids: the
database is the record, and on start every unfinished job is enqueued again."""

from __future__ import annotations

import logging
import os
import queue
import sys
import threading

from imprint.queue.base import LANES, Runner

log = logging.getLogger(__name__)
_STOP = ("", -1)


def lower_priority(niceness: int) -> None:
    """Raises the calling thread's nice value by ``niceness`` (Linux: a nice value is per thread, and
    the threads it starts, torch's OpenMP team included, inherit it). Where the platform has no
    per-thread priority, jobs keep the process's."""
    if niceness <= 0 or not hasattr(os, "setpriority") or sys.platform != "linux":
        return
    tid = threading.get_native_id()
    try:
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + niceness))
    except OSError as exc:
        log.warning("could not lower the priority of job thread %s: %s", threading.current_thread().name, exc)


class InProcessQueue:
    runs_jobs = True

    def __init__(self, runner: Runner, *, workers: dict[str, int], niceness: int = 0) -> None:
        self._runner = runner
        self._niceness = niceness
        self._workers = workers
        self._queues: dict[str, queue.Queue[tuple[str, int]]] = {lane: queue.Queue() for lane in workers}
        self._threads: list[threading.Thread] = []
        self._pending: set[tuple[str, int]] = set()
        self._lock = threading.Lock()

    def enqueue(self, kind: str, job_id: int) -> None:
        item = (kind, job_id)
        with self._lock:
            # Recovery and a late enqueue may name the same job; running it once is enough.
            if item in self._pending:
                return
            self._pending.add(item)
        self._queues[LANES[kind]].put(item)

    def start(self) -> None:
        for lane, count in self._workers.items():
            for n in range(count):
                t = threading.Thread(target=self._loop, args=(lane,), name=f"imprint-{lane}-{n}", daemon=True)
                t.start()
                self._threads.append(t)

    def stop(self, timeout: float | None = None) -> None:
        for lane, count in self._workers.items():
            for _ in range(count):
                self._queues[lane].put(_STOP)
        for t in self._threads:
            t.join(timeout)
        self._threads.clear()

    def idle(self) -> bool:
        with self._lock:
            return not self._pending

    def _loop(self, lane: str) -> None:
        lower_priority(self._niceness)
        q = self._queues[lane]
        while True:
            item = q.get()
            if item == _STOP:
                return
            try:
                self._runner(*item)
            except Exception:
                # The worker records failures on the row; anything reaching here is a bug, and the
                # job stays unfinished in the database for the next start to retry.
                log.exception("job %s %s crashed", *item)
            finally:
                with self._lock:
                    self._pending.discard(item)
