"""Serving a built runtime over HTTP, in one process or with API worker processes.

With one worker the serving process does everything: HTTP, and the job lanes in threads. With
several, the process that built the runtime becomes the job process: it runs the training and
inference lanes (exactly once, whatever the number of workers), binds the socket and supervises
the workers (uvicorn's multiprocess supervisor: restarts a dead worker, SIGHUP restarts all). Each
worker is a spawned interpreter that builds its own API-only runtime from the same Settings and
serves the shared socket; the jobs its requests create are handed to the job process
(``imprint.server.relay``).

What the workers share goes through storage every process sees: the database, the blob store, and
the nonce store (the SQLite file by default), so a nonce claimed by one worker is refused by all.
Caches of immutable or TTL-bounded data (assets, keys, policies) are per process. The per-key rate
limiter is per process too: with N workers a key may get up to N times the configured rate.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import os
from typing import Any

import uvicorn
from uvicorn.supervisors import Multiprocess

from imprint.config import Settings
from imprint.runtime import Runtime, build_runtime
from imprint.server.relay import JobRelay, RelayQueue

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def default_workers() -> int:
    """One API worker per CPU this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _config(app: Any, *, host: str, port: int, access_log: bool, **extra: Any) -> uvicorn.Config:
    return uvicorn.Config(
        # proxy_headers off: uvicorn would otherwise rewrite the client address from X-Forwarded-For
        # for loopback peers; imprint decides whom to believe itself (--trusted-proxy).
        app, host=host, port=port, log_level="info", proxy_headers=False,
        # The access log formats and writes a line per request, a fifth of the cost of a signed
        # image fetch; it is opt-in (--access-log). Errors are logged either way.
        access_log=access_log,
        loop="uvloop" if importlib.util.find_spec("uvloop") else "asyncio",
        http="httptools" if importlib.util.find_spec("httptools") else "h11", **extra)


def worker_app(settings: Settings, relay_address: str, relay_key: bytes) -> Any:
    """The app factory each worker process calls (it runs there, after spawn)."""
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    runtime = build_runtime(settings)
    # Never started: this process runs no lanes, its jobs go to the job process.
    runtime.services.queue = RelayQueue(relay_address, relay_key)
    return runtime.app


def run_server(runtime: Runtime, *, host: str, port: int, workers: int = 1, access_log: bool = False) -> None:
    """Serves until interrupted; starts the runtime's job lanes and stops them on the way out."""
    runtime.start()
    try:
        if workers <= 1:
            uvicorn.Server(_config(runtime.app, host=host, port=port, access_log=access_log)).run()
            return
        relay = JobRelay(runtime.queue)
        relay.start()
        factory = functools.partial(worker_app, runtime.settings, relay.address, relay.authkey)
        config = _config(factory, host=host, port=port, access_log=access_log, factory=True, workers=workers)
        sock = config.bind_socket()
        try:
            Multiprocess(config, sockets=[sock]).run()
        finally:
            sock.close()
            relay.close()
    finally:
        runtime.stop()
