"""Test helpers: a resolver and a network the test controls, a scriptable loopback server, test images.

Nothing here can send a packet beyond loopback: `RecordingNetwork` writes down every connection the
fetcher asks for and dials only 127.0.0.0/8; anything else is recorded and refused without a socket.
"""

from __future__ import annotations

import contextlib
import http.server
import io
import socket
import struct
import threading
import zlib
from collections.abc import Callable, Iterable
from ipaddress import ip_address
from typing import Any

import httpcore
from PIL import Image

from imprint.ingest import FetchPolicy, parse_networks

LOOPBACK = parse_networks(["127.0.0.0/8"])

# Every class of address the fetcher refuses, with a word its reason must contain.
REFUSED = [
    ("127.0.0.1", "loopback"),
    ("127.255.255.254", "loopback"),
    ("10.1.2.3", "private"),
    ("172.16.0.1", "private"),
    ("172.31.255.255", "private"),
    ("192.168.1.1", "private"),
    ("169.254.1.1", "link-local"),
    ("169.254.169.254", "metadata"),
    ("100.100.100.200", "metadata"),
    ("100.64.0.1", "not a public"),
    ("0.0.0.0", "unspecified"),
    ("0.1.2.3", "private"),
    ("224.0.0.1", "multicast"),
    ("239.255.255.250", "multicast"),
    ("255.255.255.255", "reserved"),
    ("240.0.0.1", "reserved"),
    ("192.0.2.1", "private"),
    ("198.18.0.1", "private"),
    ("::1", "loopback"),
    ("::", "unspecified"),
    ("fe80::1", "link-local"),
    ("fec0::1", "site-local"),
    ("fc00::1", "private"),
    ("fd12:3456::1", "private"),
    ("fd00:ec2::254", "metadata"),
    ("ff02::1", "multicast"),
    ("2001:db8::1", "private"),
    ("::ffff:127.0.0.1", "loopback"),
    ("::ffff:10.0.0.1", "private"),
    ("::ffff:169.254.169.254", "metadata"),
    ("64:ff9b::7f00:1", "loopback"),
    ("64:ff9b::a00:1", "private"),
    ("64:ff9b::a9fe:a9fe", "metadata"),
    ("64:ff9b:1::1", "reserved"),
    ("2002:7f00:1::", "loopback"),
    ("2002:c0a8:101::", "private"),
    ("::7f00:1", "reserved"),
]



def loopback_policy(**overrides: Any) -> FetchPolicy:
    """The fetch policy of these tests: loopback allowed (the test servers live there), short timeouts."""
    values: dict[str, Any] = dict(allow_networks=LOOPBACK, connect_timeout_s=2.0, read_timeout_s=2.0,
                                  total_timeout_s=5.0)
    values.update(overrides)
    return FetchPolicy(**values)


class FakeResolver:
    """Maps names to addresses; a name it does not know does not exist. `later` gives the answer to
    every question after the first about a name, to play a DNS server that rebinds."""

    def __init__(self, names: dict[str, list[str]] | None = None,
                 later: dict[str, list[str]] | None = None) -> None:
        self.names = dict(names or {})
        self.later = dict(later or {})
        self.calls: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        asked_before = host in self.calls
        self.calls.append(host)
        if asked_before and host in self.later:
            return list(self.later[host])
        if host not in self.names:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return list(self.names[host])


def no_resolver(host: str, port: int) -> list[str]:
    raise AssertionError(f"the resolver must not be asked about {host!r}")


class RecordingNetwork(httpcore.NetworkBackend):
    def __init__(self) -> None:
        self.attempts: list[tuple[str, int]] = []
        self._inner = httpcore.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        self.attempts.append((host, port))
        if not ip_address(host).is_loopback:
            raise httpcore.ConnectError(f"the test network does not leave loopback ({host})")
        return self._inner.connect_tcp(host, port, timeout, local_address, socket_options)

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        raise AssertionError("no unix sockets")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


Route = Callable[[http.server.BaseHTTPRequestHandler], None]


class ScriptedServer:
    """A loopback HTTP server whose paths run test-supplied handlers; it records each request's path
    and Host header."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, str]] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                outer.requests.append((self.path, self.headers.get("Host", "")))
                route = outer.routes.get(self.path)
                if route is None:
                    self.send_error(404)
                    return
                # The fetcher hanging up mid-response is what several tests want it to do.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    route(self)

            def log_message(self, *args: Any) -> None:
                pass

        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True).start()

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def serve(self, path: str, data: bytes, content_type: str = "image/png") -> str:
        def route(h: http.server.BaseHTTPRequestHandler) -> None:
            h.send_response(200)
            h.send_header("Content-Type", content_type)
            h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            h.wfile.write(data)

        self.routes[path] = route
        return self.url(path)

    def redirect(self, path: str, location: str, status: int = 302) -> str:
        def route(h: http.server.BaseHTTPRequestHandler) -> None:
            h.send_response(status)
            h.send_header("Location", location)
            h.send_header("Content-Length", "0")
            h.end_headers()

        self.routes[path] = route
        return self.url(path)

    def raw(self, path: str, route: Route) -> str:
        self.routes[path] = route
        return self.url(path)

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


# Images.

def encode(image: Image.Image, fmt: str = "PNG", **params: Any) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format=fmt, **params)
    return buf.getvalue()


def photo(size: tuple[int, int] = (64, 48), colour: tuple[int, int, int] = (200, 120, 40)) -> bytes:
    return encode(Image.new("RGB", size, colour))


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_bomb(width: int = 20_000, height: int = 20_000) -> bytes:
    """A valid one-bit PNG of width x height, all zero: a few tens of kilobytes that decode to
    `width * height` pixels. Compressed row by row so making it costs no memory."""
    row = b"\x00" * (1 + (width + 7) // 8)
    compressor = zlib.compressobj(9)
    idat = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")
