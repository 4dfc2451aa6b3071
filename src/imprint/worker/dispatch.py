"""The queue's runner: a job kind and id in, the matching worker function called."""

from __future__ import annotations

from imprint.service import runs
from imprint.worker.context import WorkerContext
from imprint.worker.infer import run_inference_job
from imprint.worker.train import run_train_job


class Dispatcher:
    def __init__(self, ctx: WorkerContext) -> None:
        self.ctx = ctx

    def __call__(self, kind: str, job_id: int) -> None:
        if self.ctx.stopping.is_set():
            return
        if kind == runs.TRAIN:
            run_train_job(self.ctx, job_id)
        elif kind in (runs.INFER, runs.PREMODEL):
            run_inference_job(self.ctx, job_id)
        else:
            raise ValueError(f"unknown job kind {kind!r}")
