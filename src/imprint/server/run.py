"""Serving a built runtime over HTTP, in one process or with API worker processes.

With one worker the serving process does everything: HTTP, and the job lanes in threads. With
several, the process that built the runtime becomes the job process: it runs the training and
inference lanes (exactly once, whatever the number of workers), binds the socket and supervises
the workers (uvicorn's multiprocess supervisor: restarts a dead worker, SIGHUP restarts all). Each
worker is a spawned interpreter that builds its own API-only runtime from the same Settings and
serves the shared socket (``uvicorn.run`` with an app factory named by import string, its public
way to run workers; the factory reads what it needs from the environment the supervisor passes
on); the jobs its requests create are handed to the job process
(``imprint.server.relay``). With ``--queue-url`` no process here runs jobs (``imprint worker``
processes do): the workers then send jobs to that queue themselves and there is no relay.

What the workers share goes through storage every process sees: the database, the blob store, and
the nonce store (the SQLite file by default), so a nonce claimed by one worker is refused by all.
Caches of immutable or TTL-bounded data (assets, keys, policies) are per process. The per-key rate
limiter is per process too: with N workers a key may get up to N times the configured rate.
"""

from __future__ import annotations

import base64
import contextlib
import gc
import importlib.util
import os
import pickle
import signal
import threading
from collections.abc import Iterator
from typing import Any

import uvicorn

from imprint.config import Settings
from imprint.logs import configure_logging
from imprint.runtime import Runtime, build_runtime
from imprint.server.relay import JobRelay, RelayQueue
from imprint.store.nonces import InMemoryNonceStore

# How long an idle keep-alive connection stays open. The SDKs pool connections; with uvicorn's 5 s a
# client that paused (polling a job, say) could send on a socket the server was closing that instant
# and read "connection reset". nginx keeps idle connections 75 s: clients are written for that.
KEEP_ALIVE_S = 75

# The HTTP/1.1 implementation serve runs: uvicorn's zttp protocol (its public `http="zttp"` option,
# the zttp package). It refuses a request head past 16 KiB with a 400 while reading it, so a client
# cannot make the server buffer more; httptools has no such limit and h11's is per incomplete read
# and, in pure Python, cost about as much CPU as the rest of a cached image fetch
# (docs/api-decisions.md, "Malformed and oversized requests"; docs/performance.md).
HTTP_PROTOCOL = "zttp"

# How the supervisor hands each spawned worker what it needs (Settings, the relay's address and
# key): an environment variable, inherited by the workers uvicorn spawns, read by worker_factory.
WORKER_SPEC_ENV = "IMPRINT_WORKER_SPEC"


def serve_options(app: Any, *, host: str, port: int, access_log: bool, **extra: Any) -> dict[str, Any]:
    """uvicorn's settings for serve, as keyword arguments of ``uvicorn.Config`` and ``uvicorn.run``."""
    return dict(
        app=app, host=host, port=port, log_level="info",
        # proxy_headers off: uvicorn would otherwise rewrite the client address from X-Forwarded-For
        # for loopback peers; imprint decides whom to believe itself (--trusted-proxy).
        proxy_headers=False,
        # The access log formats and writes a line per request: about 20 us each when measured, a
        # large share of a signed image fetch. It is opt-in (--access-log); errors are logged anyway.
        # No websockets: the API has none, and it keeps that protocol off the listening socket.
        access_log=access_log, ws="none", timeout_keep_alive=KEEP_ALIVE_S,
        loop="uvloop" if importlib.util.find_spec("uvloop") else "asyncio",
        http=HTTP_PROTOCOL, **extra)


def worker_app(settings: Settings, relay_address: str | None, relay_key: bytes | None) -> Any:
    """The app of one API worker process. Without a relay the queue already reaches the processes
    that run jobs (Celery, ``--queue-url``) and is kept."""
    configure_logging()  # the level `serve` was given, inherited through the environment
    runtime = build_runtime(settings)
    if relay_address is not None and relay_key is not None:
        # The runtime's own lanes are never started: this process runs no jobs, the job process does.
        runtime.services.queue = RelayQueue(relay_address, relay_key)
    _freeze_startup_objects()
    return runtime.app


def worker_factory() -> Any:
    """The app factory uvicorn imports by name in each spawned worker (``WORKER_SPEC_ENV``)."""
    spec = os.environ.get(WORKER_SPEC_ENV)
    if spec is None:
        raise RuntimeError(f"{WORKER_SPEC_ENV} is not set: worker processes are started by imprint serve")
    # Written by run_server in the parent of this very process, never read from anywhere else.
    settings, relay_address, relay_key = pickle.loads(base64.b64decode(spec))
    return worker_app(settings, relay_address, relay_key)


def _freeze_startup_objects() -> None:
    # What start-up built (modules, SQLAlchemy mappers, the app) lives as long as the process. A full
    # collection scanned those ~100k objects for ~75 ms, stalling every request in flight; frozen,
    # the collector skips them.
    gc.collect()
    gc.freeze()


@contextlib.contextmanager
def _sigterm_exits() -> Iterator[None]:
    # uvicorn shuts down gracefully on SIGTERM, then raises the signal again, and with the default
    # action that kills the process before the job lanes are stopped; exit through `finally` instead.
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def exit_now(signum: int, frame: object) -> None:
        raise SystemExit(0)

    previous = signal.signal(signal.SIGTERM, exit_now)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_server(runtime: Runtime, *, host: str, port: int, workers: int = 1, access_log: bool = False) -> None:
    """Serves until interrupted; starts the runtime's job lanes and stops them on the way out."""
    if workers > 1 and isinstance(runtime.services.nonces, InMemoryNonceStore):
        # Each worker would remember only its own nonces: a replay sent to another one would pass.
        raise ValueError("several API workers need a shared nonce store (sqlite:///PATH or redis://...), "
                         "not memory:")
    runtime.start()
    try:
        if workers <= 1:
            _freeze_startup_objects()
            with _sigterm_exits():
                options = serve_options(runtime.app, host=host, port=port, access_log=access_log)
                uvicorn.Server(uvicorn.Config(**options)).run()
            return
        relay = JobRelay(runtime.queue) if runtime.queue.runs_jobs else None
        if relay is not None:
            relay.start()
        spec = (runtime.settings, relay and relay.address, relay and relay.authkey)
        os.environ[WORKER_SPEC_ENV] = base64.b64encode(pickle.dumps(spec)).decode()
        try:
            uvicorn.run(**serve_options(f"{__name__}:worker_factory", host=host, port=port,
                                        access_log=access_log, factory=True, workers=workers))
        finally:
            os.environ.pop(WORKER_SPEC_ENV, None)
            if relay is not None:
                relay.close()
    finally:
        runtime.stop()
