"""The job threads of `serve` run at a lower CPU priority than the API, torch's own threads included,
so that a training filling the cores leaves the API's requests the CPU first."""

from __future__ import annotations

import os
import queue
import sys
import threading
from pathlib import Path

import pytest
import torch

from imprint.queue import open_queue

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="per-thread nice values are Linux's")


def _nice_of(tid: int) -> int:
    # Field 19 of /proc/PID/task/TID/stat, counted after the command name's closing parenthesis.
    return int(Path(f"/proc/{os.getpid()}/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()[16])


def _run_one_job(niceness: int) -> dict[str, object]:
    seen: dict[str, object] = {}
    done: queue.Queue[None] = queue.Queue()
    before = {int(t) for t in os.listdir(f"/proc/{os.getpid()}/task")}

    def runner(kind: str, job_id: int) -> None:
        seen["job"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        # The engine's work: torch starts its OpenMP team from this thread on its first parallel op.
        torch.ones(512, 512) @ torch.ones(512, 512)
        started = {int(t) for t in os.listdir(f"/proc/{os.getpid()}/task")} - before
        seen["started"] = sorted(_nice_of(t) for t in started)
        done.put(None)

    lanes = open_queue(None, runner, workers={"train": 1, "infer": 0}, niceness=niceness)
    lanes.start()
    try:
        lanes.enqueue("train", 1)
        done.get(timeout=60)
    finally:
        lanes.stop(timeout=10)
    seen["api"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    return seen


def test_job_threads_and_the_threads_they_start_run_nicer_than_the_api() -> None:
    api = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    seen = _run_one_job(7)
    assert seen["job"] == min(19, api + 7)
    assert seen["api"] == api  # the calling (API) thread keeps its priority
    started = seen["started"]
    assert isinstance(started, list) and started, "the job started no thread at all"
    if torch.get_num_threads() > 1:
        # The lane thread itself and torch's OpenMP workers, all at the job's nice value.
        assert len(started) >= 2 and set(started) == {min(19, api + 7)}, started


def test_niceness_zero_keeps_the_apis_priority() -> None:
    api = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    assert _run_one_job(0)["job"] == api
