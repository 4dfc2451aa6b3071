"""The coalescing HTTP protocol: same bytes on the wire as uvicorn's, in fewer writes."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from seckit import free_port
from serving_kit import serve_in_thread

from imprint.server.protocol import CoalescingHttpToolsProtocol

BIG = bytes(range(256)) * (5 * 4096)  # 5 MiB: more than a socket buffer, so flow control kicks in


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    body = (await receive()).get("body", b"")
    path = scope["path"]
    if path == "/big":
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", str(len(BIG)).encode())]})
        await send({"type": "http.response.body", "body": BIG})
    elif path == "/stream":  # chunked, with the loop turning between chunks
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for i in range(3):
            await send({"type": "http.response.body", "body": b"part%d;" % i, "more_body": True})
            await asyncio.sleep(0.01)
        await send({"type": "http.response.body", "body": b"end"})
    elif path == "/304":
        await send({"type": "http.response.start", "status": 304, "headers": [(b"etag", b'"x"')]})
        await send({"type": "http.response.body", "body": b""})
    else:
        text = b"echo:" + path.encode() + b":" + body
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", str(len(text)).encode())]})
        await send({"type": "http.response.body", "body": text})


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           http=CoalescingHttpToolsProtocol, ws="none"))
    thread = serve_in_thread(server)
    yield port
    server.should_exit = True
    thread.join(10)


def test_plain_head_big_streamed_and_empty_responses(port: int) -> None:
    with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
        assert client.get("/a").content == b"echo:/a:"
        assert client.post("/b", content=b"xyz").content == b"echo:/b:xyz"
        head = client.head("/a")
        assert head.status_code == 200 and head.content == b"" and head.headers["content-length"] == "8"
        assert client.get("/big").content == BIG
        assert client.get("/stream").content == b"part0;part1;part2;end"
        not_modified = client.get("/304")
        assert not_modified.status_code == 304 and not_modified.headers["etag"] == '"x"'
        assert client.get("/after").content == b"echo:/after:"  # the connection was kept alive


def test_pipelined_requests_are_answered_in_order(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"GET /one HTTP/1.1\r\nHost: x\r\n\r\nGET /two HTTP/1.1\r\nHost: x\r\n\r\n"
                     b"GET /three HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    bodies = [part for part in received.split(b"\r\n\r\n")[1:] if part]
    assert [b.split(b"HTTP/1.1")[0] for b in bodies] == [b"echo:/one:", b"echo:/two:", b"echo:/three:"]
    assert received.count(b"HTTP/1.1 200 OK") == 3


class FakeTransport:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def writelines(self, chunks: list[bytes]) -> None:
        self.calls.append(("writelines", list(chunks)))

    def is_closing(self) -> bool:
        return False

    def close(self) -> None:
        self.calls.append(("close", None))

    def abort(self) -> None:
        self.calls.append(("abort", None))

    def get_extra_info(self, name: str) -> str:
        return f"info:{name}"


def test_writes_of_one_loop_turn_reach_the_socket_together() -> None:
    from imprint.server.protocol import _CoalescingTransport

    async def go() -> FakeTransport:
        fake = FakeTransport()
        transport = _CoalescingTransport(fake, asyncio.get_running_loop())  # type: ignore[arg-type]
        transport.write(b"HTTP/1.1 200 OK\r\n\r\n")
        transport.write(b"body")
        assert fake.calls == [] and transport.get_extra_info("peername") == "info:peername"
        await asyncio.sleep(0)
        transport.write(b"next")
        transport.close()  # writes what is pending before closing
        transport.write(b"late")
        transport.abort()  # drops it, like the transport would
        await asyncio.sleep(0)
        return fake

    fake = asyncio.run(go())
    assert fake.calls == [("writelines", [b"HTTP/1.1 200 OK\r\n\r\n", b"body"]),
                          ("writelines", [b"next"]), ("close", None), ("abort", None)]
