"""The cancel event of one running job, which the engine checks at every step.

It is set when this process stops (shutdown: the job stays resumable) or when the job's row has
ended or gone meanwhile: cancelled or deleted through the API, by whichever process served that
call. Watching the row rather than a message is what makes cancelling work alike for the in-process
lanes and for Celery workers on other hosts.
"""

from __future__ import annotations

import logging
import threading
from types import TracebackType

from sqlalchemy import select

from imprint.service import runs
from imprint.service.states import is_terminal
from imprint.store.rows import InferenceJobRow, TrainJobRow
from imprint.worker.context import WorkerContext

log = logging.getLogger(__name__)

# How often the row is read while the job runs: one indexed read; well under a training step.
WATCH_INTERVAL_S = 0.2


class JobWatch:
    def __init__(self, ctx: WorkerContext, *, kind: str, job_id: int,
                 interval_s: float = WATCH_INTERVAL_S) -> None:
        self._ctx, self._interval = ctx, interval_s
        self._table = TrainJobRow if kind == runs.TRAIN else InferenceJobRow
        self._job_id = job_id
        self.event = threading.Event()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"imprint-watch-{kind}-{job_id}", daemon=True)

    @property
    def ended_elsewhere(self) -> bool:
        """True once the row was found ended or gone (cancelled, deleted), not merely shutdown."""
        return self.event.is_set() and not self._ctx.stopping.is_set()

    def __enter__(self) -> JobWatch:
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._done.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._done.wait(self._interval):
            if self._ctx.stopping.is_set() or self._row_ended():
                self.event.set()
                return

    def _row_ended(self) -> bool:
        try:
            with self._ctx.sessions() as session:
                status = session.scalar(select(self._table.status).where(self._table.id == self._job_id))
        except Exception:  # a database hiccup is no reason to stop the job; the next look decides
            log.warning("could not read the status of job %s", self._job_id, exc_info=True)
            return False
        return status is None or is_terminal(status)
