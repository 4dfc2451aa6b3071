"""The job relay between API worker processes and the job process."""

from __future__ import annotations

import time
from collections.abc import Iterator
from multiprocessing.connection import Client

import pytest

from imprint.server.relay import JobRelay, RelayQueue


class Recorder:
    def __init__(self) -> None:
        self.items: list[tuple[str, int]] = []

    def enqueue(self, kind: str, job_id: int) -> None:
        self.items.append((kind, job_id))

    def start(self) -> None: ...

    def stop(self, timeout: float | None = None) -> None: ...


def wait_for(recorder: Recorder, count: int) -> None:
    deadline = time.monotonic() + 10
    while len(recorder.items) < count:
        assert time.monotonic() < deadline, recorder.items
        time.sleep(0.01)


@pytest.fixture
def relay() -> Iterator[tuple[JobRelay, Recorder]]:
    recorder = Recorder()
    r = JobRelay(recorder)
    r.start()
    yield r, recorder
    r.close()


def test_jobs_from_workers_reach_the_job_queue(relay: tuple[JobRelay, Recorder]) -> None:
    r, recorder = relay
    one, two = RelayQueue(r.address, r.authkey), RelayQueue(r.address, r.authkey)
    one.enqueue("train", 1)
    two.enqueue("infer", 2)
    one.enqueue("premodel", 3)
    wait_for(recorder, 3)
    assert sorted(recorder.items) == [("infer", 2), ("premodel", 3), ("train", 1)]
    one.stop()
    two.stop()


def test_a_worker_reconnects_after_its_connection_broke(relay: tuple[JobRelay, Recorder]) -> None:
    r, recorder = relay
    queue = RelayQueue(r.address, r.authkey)
    queue.enqueue("train", 1)
    assert queue._conn is not None
    queue._conn.close()  # as if the connection had died
    queue._conn = _Broken()
    queue.enqueue("train", 2)
    wait_for(recorder, 2)
    assert recorder.items == [("train", 1), ("train", 2)]


class _Broken:
    def send_bytes(self, data: bytes) -> None:
        raise OSError("broken pipe")

    def close(self) -> None: ...


def test_a_client_without_the_key_is_refused(relay: tuple[JobRelay, Recorder]) -> None:
    r, recorder = relay
    with pytest.raises(Exception):  # noqa: B017 - multiprocessing's AuthenticationError or a reset
        Client(r.address, authkey=b"guessed").send_bytes(b"train 1")
    RelayQueue(r.address, r.authkey).enqueue("train", 7)
    wait_for(recorder, 1)
    assert recorder.items == [("train", 7)]


def test_malformed_messages_are_ignored(relay: tuple[JobRelay, Recorder]) -> None:
    r, recorder = relay
    conn = Client(r.address, authkey=r.authkey)
    for message in (b"rm -rf 1", b"train x", b"train", b"\xff\xfe", b"train 5"):
        conn.send_bytes(message)
    wait_for(recorder, 1)
    time.sleep(0.1)
    assert recorder.items == [("train", 5)]
    conn.close()


def test_a_lost_job_process_loses_no_job_silently(caplog: pytest.LogCaptureFixture) -> None:
    recorder = Recorder()
    r = JobRelay(recorder)
    r.start()
    address, key = r.address, r.authkey
    r.close()
    RelayQueue(address, key).enqueue("train", 9)
    assert "runs when imprint next starts" in caplog.text
