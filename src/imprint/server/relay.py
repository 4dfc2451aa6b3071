"""How API worker processes hand jobs to the one process that runs the job lanes.

The parent listens on a Unix socket in a private temporary directory; a worker connects with the
random key the parent gave it at spawn (multiprocessing's HMAC challenge), so no other local
process can inject work. Messages are plain ``"<kind> <job_id>"`` lines, never pickles.

Losing a message is not losing a job: the row is committed before it is enqueued, and the job
process enqueues every unfinished job again when it starts.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import socket
import threading
from multiprocessing.connection import Client, Connection, Listener

from imprint.queue.base import LANES, JobQueue

log = logging.getLogger(__name__)


def _encode(kind: str, job_id: int) -> bytes:
    return f"{kind} {job_id}".encode("ascii")


def _decode(message: bytes) -> tuple[str, int] | None:
    kind, _, job_id = message.decode("ascii", "replace").partition(" ")
    if kind not in LANES or not job_id.isdigit():
        return None
    return kind, int(job_id)


class JobRelay:
    """Parent side: every (kind, job_id) a worker sends is enqueued on ``queue``."""

    def __init__(self, queue: JobQueue) -> None:
        self.authkey = secrets.token_bytes(32)
        self._listener = Listener(family="AF_UNIX", authkey=self.authkey)
        self.address: str = self._listener.address
        self._queue = queue
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._accept_loop, name="imprint-job-relay", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._closing.set()
        # accept() does not return when another thread closes the socket; a connection wakes it, and
        # it then sees the flag. A bare socket closed at once, not a Client: a Client waits for the
        # challenge, forever if the accept loop has already seen the flag and left (seen in CI).
        with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as wake:
            wake.settimeout(1.0)
            wake.connect(self.address)
        self._thread.join(5)
        self._listener.close()

    def _accept_loop(self) -> None:
        while not self._closing.is_set():
            try:
                conn = self._listener.accept()
            except Exception:  # a client with a wrong key, or the listener closing
                continue
            threading.Thread(target=self._read, args=(conn,), name="imprint-job-relay-conn",
                             daemon=True).start()

    def _read(self, conn: Connection) -> None:
        with conn:
            while True:
                try:
                    message = conn.recv_bytes(256)
                except (EOFError, OSError):
                    return
                item = _decode(message)
                if item is None:
                    log.error("job relay: ignored a malformed message")
                    continue
                self._queue.enqueue(*item)


class RelayQueue:
    """Worker side: the JobQueue of an API worker process, which runs no lanes of its own."""

    def __init__(self, address: str, authkey: bytes) -> None:
        self._address, self._authkey = address, authkey
        self._conn: Connection | None = None
        self._lock = threading.Lock()

    def enqueue(self, kind: str, job_id: int) -> None:
        message = _encode(kind, job_id)
        with self._lock:
            for _ in range(2):  # one reconnect, in case the connection broke since the last job
                try:
                    if self._conn is None:
                        self._conn = Client(self._address, authkey=self._authkey)
                    self._conn.send_bytes(message)
                    return
                except (OSError, EOFError):
                    self._conn = None
        log.error("could not hand %s job %s to the job process; it runs when imprint next starts",
                  kind, job_id)

    def start(self) -> None:
        pass

    def stop(self, timeout: float | None = None) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
