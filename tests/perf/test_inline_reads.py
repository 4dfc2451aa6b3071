"""The protocol that serves image reads itself answers byte for byte as uvicorn's ASGI path does.

Two real servers on loopback share one app (and so one nonce store): one with the coalescing
protocol, whose image reads go through an ASGI task and the FastPath middleware, one with
``InlineReadsProtocol``. Each case is signed afresh for each server and sent over a raw socket; the
raw responses must be equal once the date and request id are blanked.
"""

from __future__ import annotations

import json
import logging
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
import uvicorn
from seckit import OPS, PREFIX, Key, SecServer, Tenant, free_port, settings, sign, start
from serving_kit import as_served, serve_in_thread
from starlette.responses import Response

from imprint.server.inline import InlineReadsProtocol
from imprint.server.protocol import CoalescingHttpToolsProtocol

Servers = dict[str, int]


def _serve(app: object, protocol: type) -> tuple[uvicorn.Server, threading.Thread, int]:
    port = free_port()
    server = as_served(app, port, http=protocol, ws="none", access_log=False)
    return server, serve_in_thread(server), port


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecServer]:
    srv = start(settings(tmp_path_factory.mktemp("inline-data")))
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def ports(server: SecServer) -> Iterator[Servers]:
    started = {name: _serve(server.runtime.app, protocol) for name, protocol in
               (("asgi", CoalescingHttpToolsProtocol), ("inline", InlineReadsProtocol))}
    yield {name: port for name, (_, _, port) in started.items()}
    for srv, thread, _ in started.values():
        srv.should_exit = True
        thread.join(10)


@pytest.fixture(scope="module")
def alice(server: SecServer) -> Tenant:
    return server.seed(server.account("alice"), ["https://photos.example/a.png"])


def request(server: SecServer, port: int, key: Key, op: str, query: dict[str, str], *,
            extra: dict[str, str] | None = None, signed_extra: dict[str, str] | None = None,
            version: str = "1.1", body: bytes = b"", when: datetime | None = None) -> bytes:
    action, _, method = OPS[op]
    target, headers = sign(method, PREFIX + op, query, body, action=action, host=f"127.0.0.1:{port}",
                           key=key, extra=signed_extra, when=when)
    headers = {**headers, **(extra or {})}
    if body:
        headers["content-length"] = str(len(body))
    lines = [f"{method} {target} HTTP/{version}"] + [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def exchange(port: int, *requests: bytes, answers: int | None = None) -> bytes:
    """Sends the requests back to back on one connection (pipelined); reads ``answers`` responses
    (default: one per request), or until the server closes the connection."""
    expected = len(requests) if answers is None else answers
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"".join(requests))
        received, complete = b"", 0
        while complete < expected and (chunk := sock.recv(65536)):
            received += chunk
            complete = _complete_responses(received)
    return received


def _complete_responses(data: bytes) -> int:
    count = 0
    while (end := data.find(b"\r\n\r\n")) >= 0:
        length = re.search(rb"content-length: (\d+)", data[:end])
        size = end + 4 + (int(length[1]) if length else 0)
        if len(data) < size:
            break
        data, count = data[size:], count + 1
    return count


def blanked(raw: bytes) -> bytes:
    raw = re.sub(rb"date: [^\r]*", b"date: -", raw)
    raw = re.sub(rb"x-acs-request-id: [^\r]*", b"x-acs-request-id: -", raw)
    raw = re.sub(rb'"(requestId|RequestId)": ?"[^"]*"', rb'"\1":"-"', raw)
    # A signature mismatch quotes the string to sign, which holds this request's nonce.
    raw = re.sub(rb"string to sign is:[^\"]*", b"string to sign is:-", raw)
    return re.sub(rb"content-length: \d+", b"content-length: -", raw)  # the message's length moves too


def on_both(server: SecServer, ports: Servers, make: Callable[[int], list[bytes]], *,
            answers: int | None = None) -> bytes:
    raw = {name: exchange(port, *make(port), answers=answers) for name, port in ports.items()}
    assert blanked(raw["inline"]) == blanked(raw["asgi"])
    return raw["inline"]


def v1(t: Tenant, **more: str) -> dict[str, str]:
    return {"modelId": t.model_id, "promptId": t.prompt_id, "imageId": t.image_ids[0], **more}


@pytest.fixture
def inline_writes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Status codes the inline path wrote itself (and not through an ASGI task)."""
    written: list[int] = []
    original = InlineReadsProtocol._write

    def counting(self: InlineReadsProtocol, cycle: object, response: Response) -> None:
        written.append(response.status_code)
        original(self, cycle, response)  # type: ignore[arg-type]

    monkeypatch.setattr(InlineReadsProtocol, "_write", counting)
    return written


def test_an_image_and_its_base64_form(server: SecServer, ports: Servers, alice: Tenant,
                                      inline_writes: list[int]) -> None:
    raw = on_both(server, ports, lambda p: [request(server, p, alice.root, "queryImageAsset", v1(alice))])
    assert inline_writes == [200]  # the inline server answered it without the ASGI path
    assert raw.startswith(b"HTTP/1.1 200 OK\r\n") and b"content-type: image/png" in raw
    assert raw.count(b"HTTP/1.1") == 1 and b"\r\n\r\n\x89PNG" in raw
    raw = on_both(server, ports, lambda p: [
        request(server, p, alice.root, "queryImageAsset", v1(alice, encodeFormat="base64")),
        request(server, p, alice.root, "queryImageAssetFromImageId", {"imageId": alice.v2_image_ids[0]}),
    ])
    assert raw.count(b"HTTP/1.1 200 OK") == 2 and inline_writes == [200, 200, 200]


def test_not_modified_and_refusals(server: SecServer, ports: Servers, alice: Tenant) -> None:
    first = exchange(ports["inline"], request(server, ports["inline"], alice.root, "queryImageAsset",
                                              v1(alice)))
    etag = re.search(rb"etag: ([^\r]*)", first)[1].decode()  # type: ignore[index]
    raw = on_both(server, ports, lambda p: [
        request(server, p, alice.root, "queryImageAsset", v1(alice), extra={"If-None-Match": etag}),
        request(server, p, alice.root, "queryImageAsset", v1(alice, encodeFormat="jpeg")),
        request(server, p, Key("LTAI-nobody", "secret"), "queryImageAsset", v1(alice)),
        request(server, p, alice.root, "queryImageAsset", v1(alice),
                when=datetime.now(UTC) - timedelta(hours=1)),
        request(server, p, alice.root, "queryImageAsset", {"modelId": alice.model_id}),
    ])
    statuses = re.findall(rb"HTTP/1.1 (\d+)", raw)
    assert statuses[0] == b"304" and all(int(s) >= 400 for s in statuses[1:]) and len(statuses) == 5


def test_a_replay_is_refused_on_either_server(server: SecServer, ports: Servers, alice: Tenant) -> None:
    for first, second in (("inline", "asgi"), ("asgi", "inline"), ("inline", "inline")):
        sent = request(server, ports[first], alice.root, "queryImageAsset", v1(alice))
        assert exchange(ports[first], sent).startswith(b"HTTP/1.1 200 ")
        again = exchange(ports[second], sent)
        assert again.startswith(b"HTTP/1.1 400 ") and b"SignatureNonceUsed" in again


def test_pipelined_reads_and_other_operations_answer_in_order(server: SecServer, ports: Servers,
                                                              alice: Tenant) -> None:
    def make(p: int) -> list[bytes]:
        read = lambda: request(server, p, alice.root, "queryImageAsset", v1(alice))  # noqa: E731
        status = request(server, p, alice.root, "queryModelTrainStatus", {"modelId": alice.model_id})
        bad = request(server, p, Key("LTAI-nobody", "secret"), "queryImageAsset", v1(alice))
        return [read(), status, bad, read(), bad, read()]

    raw = on_both(server, ports, make)
    statuses = [int(s) for s in re.findall(rb"HTTP/1.1 (\d+)", raw)]
    assert statuses[:2] == [200, 200] and statuses[3] == statuses[5] == 200
    assert statuses[2] >= 400 and statuses[4] >= 400
    # Every answer is there, in request order: images where images were asked for.
    assert raw.count(b"\x89PNG") == 3
    parts = raw.split(b"HTTP/1.1 ")[1:]
    assert [b"image/png" in part for part in parts] == [True, False, False, True, False, True]


def test_many_pipelined_refusals_do_not_recurse(server: SecServer, ports: Servers, alice: Tenant) -> None:
    bad = request(server, ports["inline"], Key("LTAI-nobody", "secret"), "queryImageAsset", v1(alice))
    raw = exchange(ports["inline"], *[bad] * 600)
    assert raw.count(b"HTTP/1.1 404 ") + raw.count(b"HTTP/1.1 400 ") + raw.count(b"HTTP/1.1 403 ") == 600


def test_connection_close_and_http_1_0_close_after_the_answer(server: SecServer, ports: Servers,
                                                              alice: Tenant) -> None:
    for extra, version in (({"Connection": "close"}, "1.1"), ({}, "1.0")):
        raw = on_both(server, ports, lambda p, extra=extra, version=version: [
            request(server, p, alice.root, "queryImageAsset", v1(alice), extra=extra, version=version),
            request(server, p, alice.root, "queryImageAsset", v1(alice)),  # never answered: closed before
        ], answers=2)  # more than will come: read until the server closes
        assert raw.count(b"HTTP/1.1 200 OK") == 1 and b"connection: close" in raw


def test_keep_alive_serves_one_request_after_another(server: SecServer, ports: Servers,
                                                     alice: Tenant) -> None:
    port = ports["inline"]
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        for _ in range(3):
            sock.sendall(request(server, port, alice.root, "queryImageAsset", v1(alice)))
            received = b""
            while b"\x89PNG" not in received or not received.endswith(b"\xaeB`\x82"):
                received += sock.recv(65536)
            assert received.startswith(b"HTTP/1.1 200 OK")


def test_a_body_takes_the_asgi_path_with_the_same_answer(server: SecServer, ports: Servers,
                                                         alice: Tenant, inline_writes: list[int]) -> None:
    raw = on_both(server, ports, lambda p: [
        request(server, p, alice.root, "queryImageAsset", v1(alice), body=b"x=1")])
    assert raw.startswith(b"HTTP/1.1 ") and inline_writes == []


def test_a_client_gone_before_its_answer_leaves_the_server_serving(server: SecServer, ports: Servers,
                                                                   alice: Tenant) -> None:
    port = ports["inline"]
    for _ in range(20):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(request(server, port, alice.root, "queryImageAsset", v1(alice)))
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    raw = exchange(port, request(server, port, alice.root, "queryImageAsset", v1(alice)))
    assert raw.startswith(b"HTTP/1.1 200 OK")
    assert json.loads(exchange(port, request(server, port, alice.root, "queryModelTrainStatus",
                                             {"modelId": alice.model_id})).split(b"\r\n\r\n", 1)[1])


def test_the_access_log_line_is_uvicorns(server: SecServer, ports: Servers, alice: Tenant,
                                         caplog: pytest.LogCaptureFixture) -> None:
    lines = {}
    for name, port in ports.items():
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="uvicorn.access"):
            exchange(port, request(server, port, alice.root, "queryImageAsset", v1(alice)))
            time.sleep(0.05)
        lines[name] = [re.sub(r"(127\.0\.0\.1:)\d+|Signature[^&\"]*", r"\1-", r.getMessage())
                       for r in caplog.records if r.name == "uvicorn.access"]
    assert lines["inline"] == lines["asgi"] and len(lines["inline"]) == 1
    assert lines["inline"][0].endswith('HTTP/1.1" 200')
