"""Idle keep-alive connections outlive a client's pause: the SDKs pool connections between calls."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
from seckit import free_port
from serving_kit import as_served, serve_in_thread

from imprint.server.run import KEEP_ALIVE_S, serve_options

UVICORN_DEFAULT_S = 5
REQUEST = b"GET /ping HTTP/1.1\r\nHost: test\r\n\r\n"


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"4")]})
    await send({"type": "http.response.body", "body": b"pong"})


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    port = free_port()
    server = as_served(app, port)
    thread = serve_in_thread(server)
    yield port
    server.should_exit = True
    thread.join(10)


def _exchange(sock: socket.socket) -> bytes:
    sock.sendall(REQUEST)
    answer = b""
    while not answer.endswith(b"pong"):
        chunk = sock.recv(4096)
        if not chunk:
            return answer  # the server closed the connection
        answer += chunk
    return answer


def test_serve_keeps_idle_connections_as_long_as_nginx() -> None:
    options = serve_options(app, host="127.0.0.1", port=1, access_log=False)
    assert options["timeout_keep_alive"] == KEEP_ALIVE_S
    assert KEEP_ALIVE_S >= 60


def test_a_connection_idle_past_uvicorns_default_still_answers(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        assert _exchange(sock).startswith(b"HTTP/1.1 200")
        time.sleep(UVICORN_DEFAULT_S + 1.5)
        assert _exchange(sock).startswith(b"HTTP/1.1 200")
