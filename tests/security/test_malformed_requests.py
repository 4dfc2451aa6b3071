"""Requests the HTTP layer refuses before the app sees them: an oversized head is cut off while it is
read (memory stays bounded), and malformed requests get a 400 from uvicorn. What reaches the app (a
bad path, a wrong method, a malformed query) gets the JSON envelope (docs/api-decisions.md)."""

from __future__ import annotations

import resource
import socket
import time

import httpx
import pytest
from seckit import PREFIX, SecServer

HEAD_LIMIT = 16 * 1024  # what the zttp protocol accepts (a little more, for the request line)


def _raw(server: SecServer, data: bytes, *, then: bytes = b"", times: int = 0) -> bytes:
    """Sends ``data``, then ``then`` ``times`` times, and reads the answer."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        try:
            sock.sendall(data)
            for _ in range(times):
                sock.sendall(then)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server stopped reading: what it answered before is still to be read
        answer = b""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except (ConnectionResetError, TimeoutError):
                break
            if not chunk:
                break
            answer += chunk
            head, sep, body = answer.partition(b"\r\n\r\n")
            length = [line for line in head.lower().split(b"\r\n") if line.startswith(b"content-length:")]
            if sep and length and len(body) >= int(length[0].split(b":")[1]):
                break
        return answer


def _head(extra: bytes) -> bytes:
    return b"GET " + PREFIX.encode() + b"queryModelTrainJobList HTTP/1.1\r\nHost: x\r\n" + extra + b"\r\n"


def test_a_head_past_the_limit_is_refused(server: SecServer) -> None:
    answer = _raw(server, _head(b"X-Big: " + b"a" * (64 * 1024) + b"\r\n"))
    assert answer.startswith(b"HTTP/1.1 400") and b"MissingAuthorization" not in answer  # not the app's 400


def test_a_head_within_the_limit_reaches_the_app(server: SecServer) -> None:
    answer = _raw(server, _head(b"X-Big: " + b"a" * (HEAD_LIMIT - 1024) + b"\r\n"))
    assert answer.startswith(b"HTTP/1.1 400") and b'"MissingAuthorization"' in answer


def test_a_32_mib_header_is_not_buffered(server: SecServer) -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # One MiB sent 32 times: the test process itself never holds the 32 MiB it sends.
    start = b"GET " + PREFIX.encode() + b"queryModelTrainJobList HTTP/1.1\r\nHost: x\r\nX-Big: "
    answers = [_raw(server, start, then=b"a" * (1 << 20), times=32) for _ in range(2)]
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert all(a.startswith(b"HTTP/1.1 400") or a == b"" for a in answers)
    assert grown_mib < 16, f"peak RSS grew {grown_mib:.0f} MiB"  # 64 MiB were sent


@pytest.mark.parametrize("request_bytes", [
    b"G(T / HTTP/1.1\r\nHost: x\r\n\r\n",  # a bad method token
    b"GET /a HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
    b"GET /a HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n",  # a control character in a header
    b"GET /" + b"p" * (64 * 1024) + b" HTTP/1.1\r\nHost: x\r\n\r\n",  # a request target over 64 KiB
])
def test_malformed_requests_get_a_400_and_the_server_goes_on(server: SecServer, request_bytes: bytes) -> None:
    assert _raw(server, request_bytes).startswith(b"HTTP/1.1 400")
    assert httpx.get(f"http://{server.endpoint}{PREFIX}queryModelTrainJobList").status_code == 400


@pytest.mark.parametrize(("method", "path", "status", "code"), [
    ("GET", "/nothing/here", 404, "InvalidAction.NotFound"),
    ("DELETE", PREFIX + "queryModelTrainJobList", 405, "UnsupportedHTTPMethod"),
    ("BREW", PREFIX + "queryModelTrainJobList", 405, "UnsupportedHTTPMethod"),
    ("GET", PREFIX + "queryModelTrainJobList?%ZZ=%", 400, "MissingAuthorization"),
])
def test_what_reaches_the_app_gets_the_envelope(server: SecServer, method: str, path: str, status: int,
                                                 code: str) -> None:
    resp = httpx.request(method, f"http://{server.endpoint}{path}")
    assert resp.status_code == status
    body = resp.json()
    assert body["Code"] == code and body["RequestId"]
