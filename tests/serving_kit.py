"""Real uvicorn servers on loopback threads, shared by the API, security and perf suites."""

from __future__ import annotations

import threading
import time
from typing import Any

import uvicorn

from imprint.server.run import serve_options


def as_served(app: Any, port: int, **overrides: Any) -> uvicorn.Server:
    """A server for `app` with what `imprint serve` sets (its HTTP protocol and head-size limit,
    proxy headers off, its keep-alive timeout); the asyncio loop and warnings-only logs suit tests."""
    options = serve_options(app, host="127.0.0.1", port=port, access_log=False)
    options.update(log_level="warning", loop="asyncio")
    return uvicorn.Server(uvicorn.Config(**(options | overrides)))


def serve_in_thread(server: uvicorn.Server) -> threading.Thread:
    """Runs the server on a daemon thread; returns once it accepts connections."""
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    return thread
