"""Size, time and count limits, against loopback servers that misbehave on purpose."""

from __future__ import annotations

import http.server
import time
from collections.abc import Iterator

import pytest
from ingestkit import RecordingNetwork, ScriptedServer, loopback_policy, no_resolver, photo

from imprint.ingest import FetchPolicy, ImageFetchError, fetch_images

Handler = http.server.BaseHTTPRequestHandler
LIMIT = 100_000


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    srv = ScriptedServer()
    yield srv
    srv.close()


def reasons_for(urls: list[str], policy: FetchPolicy | None = None) -> dict[int, str]:
    with pytest.raises(ImageFetchError) as info:
        fetch_images(urls, policy or loopback_policy(max_bytes=LIMIT), resolver=no_resolver,
                     network=RecordingNetwork())
    return info.value.reasons


def endless(h: Handler, head: bytes, chunk: bytes, *, chunked: bool, pause: float = 0.0) -> None:
    """Writes `head`, then `chunk` forever (until the fetcher hangs up or a minute passes)."""
    h.wfile.write(head)
    stop = time.monotonic() + 60
    while time.monotonic() < stop:
        h.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
        h.wfile.flush()
        if pause:
            time.sleep(pause)


# Size.

def test_an_honest_content_length_over_the_limit_is_refused_before_the_body(server: ScriptedServer) -> None:
    def huge(h: Handler) -> None:
        endless(h, b"HTTP/1.1 200 OK\r\nContent-Length: 30000000\r\n\r\n", b"\0" * 65536, chunked=False)

    reasons = reasons_for([server.raw("/huge", huge)])
    assert "Content-Length 30000000" in reasons[0] and f"{LIMIT} byte limit" in reasons[0]


@pytest.mark.parametrize("chunked", [True, False], ids=["chunked", "until-close"])
def test_an_endless_body_without_a_length_is_cut_at_the_limit(server: ScriptedServer, chunked: bool) -> None:
    def stream(h: Handler) -> None:
        framing = b"Transfer-Encoding: chunked\r\n" if chunked else b"Connection: close\r\n"
        endless(h, b"HTTP/1.1 200 OK\r\n" + framing + b"\r\n", b"\x89PNG" * 4096, chunked=chunked)

    started = time.monotonic()
    reasons = reasons_for([server.raw("/stream", stream)])
    assert f"larger than the {LIMIT} byte limit" in reasons[0]
    assert time.monotonic() - started < 15


def test_a_content_length_that_understates_a_chunked_body_does_not_raise_the_limit(
        server: ScriptedServer) -> None:
    def liar(h: Handler) -> None:
        head = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n"
        endless(h, head, b"A" * 65536, chunked=True)

    reasons = reasons_for([server.raw("/liar", liar)])
    # Either the conflicting framing is refused outright or the count stops it; it never runs unbounded.
    assert "byte limit" in reasons[0] or "could not be fetched" in reasons[0], reasons


def test_a_content_length_that_understates_the_body_reads_only_what_it_declared(
        server: ScriptedServer) -> None:
    body = photo((400, 300))

    def short(h: Handler) -> None:
        h.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 200\r\n\r\n" + body + b"\0" * 1_000_000)

    reasons = reasons_for([server.raw("/short", short)])
    assert "could not be decoded" in reasons[0] and "truncated" in reasons[0], reasons


def test_a_content_length_that_overstates_the_body_is_a_reason(server: ScriptedServer) -> None:
    def overstated(h: Handler) -> None:
        h.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\nConnection: close\r\n\r\n" + b"x" * 10)

    reasons = reasons_for([server.raw("/over", overstated)])
    assert "could not be fetched" in reasons[0] and "RemoteProtocolError" in reasons[0]


def test_the_limit_is_inclusive(server: ScriptedServer) -> None:
    data = photo()
    url = server.serve("/a.png", data)
    [image] = fetch_images([url], loopback_policy(max_bytes=len(data)), resolver=no_resolver)
    assert image.size == (64, 48)
    reasons = reasons_for([url], loopback_policy(max_bytes=len(data) - 1))
    assert "byte limit" in reasons[0]


def test_compressed_responses_are_refused(server: ScriptedServer) -> None:
    def gzipped(h: Handler) -> None:
        h.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 4\r\n\r\nabcd")

    assert "compressed responses (gzip)" in reasons_for([server.raw("/gz", gzipped)])[0]


def test_error_statuses_are_reasons(server: ScriptedServer) -> None:
    def fail(h: Handler) -> None:
        h.send_error(500)

    reasons = reasons_for([server.url("/missing.png"), server.raw("/fail", fail)])
    assert "HTTP 404" in reasons[0] and "HTTP 500" in reasons[1]


# Time.

def test_a_slow_loris_body_is_cut_at_the_deadline(server: ScriptedServer) -> None:
    def drip(h: Handler) -> None:
        endless(h, b"HTTP/1.1 200 OK\r\nContent-Length: 90000\r\n\r\n", b"A", chunked=False, pause=0.05)

    started = time.monotonic()
    # Every byte arrives well within the read timeout; only the deadline can end this.
    reasons = reasons_for([server.raw("/drip", drip)],
                          loopback_policy(read_timeout_s=2.0, total_timeout_s=0.6))
    elapsed = time.monotonic() - started
    assert "timed out" in reasons[0] and "limit per image" in reasons[0], reasons
    assert 0.5 < elapsed < 15


def test_slow_loris_headers_are_cut_at_the_deadline(server: ScriptedServer) -> None:
    def drip_headers(h: Handler) -> None:
        h.wfile.write(b"HTTP/1.1 200 OK\r\n")
        stop = time.monotonic() + 60
        while time.monotonic() < stop:
            h.wfile.write(b"X")
            h.wfile.flush()
            time.sleep(0.05)

    started = time.monotonic()
    reasons = reasons_for([server.raw("/drip-headers", drip_headers)],
                          loopback_policy(read_timeout_s=2.0, total_timeout_s=0.6))
    assert "limit per image" in reasons[0] and time.monotonic() - started < 15


def test_a_server_that_never_answers_hits_the_read_timeout(server: ScriptedServer) -> None:
    def silent(h: Handler) -> None:
        time.sleep(40)

    started = time.monotonic()
    reasons = reasons_for([server.raw("/silent", silent)], loopback_policy(read_timeout_s=0.3))
    assert "timed out" in reasons[0]
    assert time.monotonic() - started < 15


def test_the_deadline_spans_redirects(server: ScriptedServer) -> None:
    def slow_redirect(target: str):  # type: ignore[no-untyped-def]
        def route(h: Handler) -> None:
            time.sleep(0.3)
            h.send_response(302)
            h.send_header("Location", target)
            h.send_header("Content-Length", "0")
            h.end_headers()
        return route

    server.raw("/r1", slow_redirect("/a.png"))
    server.raw("/r2", slow_redirect("/r1"))
    server.raw("/r3", slow_redirect("/r2"))
    server.serve("/a.png", photo())
    started = time.monotonic()
    reasons = reasons_for([server.url("/r3")], loopback_policy(read_timeout_s=2.0, total_timeout_s=0.5))
    assert "limit per image" in reasons[0] and time.monotonic() - started < 15


def test_a_closed_port_is_a_reason(server: ScriptedServer) -> None:
    closed = ScriptedServer()
    url = closed.url("/a.png")
    closed.close()
    reasons = reasons_for([url])
    assert "could not be fetched" in reasons[0] and "ConnectError" in reasons[0]


# Count.

def test_more_than_fifty_images_are_refused_before_any_fetch() -> None:
    network = RecordingNetwork()
    with pytest.raises(ImageFetchError) as info:
        fetch_images([f"http://127.0.0.1:9/{i}.png" for i in range(51)], loopback_policy(),
                     resolver=no_resolver, network=network)
    assert "51 images were given; at most 50 per job" in str(info.value) and network.attempts == []


def test_fifty_images_are_fine_and_keep_their_order(server: ScriptedServer) -> None:
    urls = [server.serve(f"/{i}.png", photo((16 + i, 16))) for i in range(50)]
    images = fetch_images(urls, loopback_policy(), resolver=no_resolver)
    assert [im.width for im in images] == [16 + i for i in range(50)]


def test_no_urls_is_an_error() -> None:
    with pytest.raises(ImageFetchError, match="no image URLs"):
        fetch_images([], FetchPolicy())
