"""Real uvicorn servers on loopback threads, shared by the API, security and perf suites."""

from __future__ import annotations

import threading
import time
from typing import Any

import uvicorn

from imprint.server.inline import InlineReadsProtocol
from imprint.server.run import KEEP_ALIVE_S


def as_served(app: Any, port: int, **overrides: Any) -> uvicorn.Server:
    """A server for `app` with what `imprint serve` sets that changes answers: its HTTP protocol
    (image reads answered by the protocol itself), proxy headers off (imprint decides whom to
    believe itself) and its keep-alive timeout; the asyncio loop and warnings-only logs suit tests."""
    options: dict[str, Any] = dict(host="127.0.0.1", port=port, log_level="warning", loop="asyncio",
                                   http=InlineReadsProtocol, proxy_headers=False,
                                   timeout_keep_alive=KEEP_ALIVE_S)
    return uvicorn.Server(uvicorn.Config(app, **(options | overrides)))


def serve_in_thread(server: uvicorn.Server) -> threading.Thread:
    """Runs the server on a daemon thread; returns once it accepts connections."""
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    return thread
