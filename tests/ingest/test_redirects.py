"""Redirects are followed by hand, at most three, and every hop is vetted like the first URL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from ingestkit import FakeResolver, RecordingNetwork, ScriptedServer, loopback_policy, no_resolver, photo

from imprint.ingest import ImageFetchError, fetch_images


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    srv = ScriptedServer()
    srv.serve("/a.png", photo())
    yield srv
    srv.close()


def chain(server: ScriptedServer, hops: int, status: int = 302) -> str:
    """/r<hops> -> ... -> /r1 -> /a.png, with relative and absolute Locations mixed."""
    for i in range(1, hops + 1):
        target = "/a.png" if i == 1 else f"/r{i - 1}"
        server.redirect(f"/r{i}", server.url(target) if i % 2 else target, status)
    return server.url(f"/r{hops}")


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_up_to_three_redirects_are_followed(server: ScriptedServer, status: int) -> None:
    network = RecordingNetwork()
    [image] = fetch_images([chain(server, 3, status)], loopback_policy(), resolver=no_resolver,
                           network=network)
    assert image.size == (64, 48)
    assert [path for path, _ in server.requests] == ["/r3", "/r2", "/r1", "/a.png"]


def test_a_fourth_redirect_is_refused(server: ScriptedServer) -> None:
    with pytest.raises(ImageFetchError) as info:
        fetch_images([chain(server, 4)], loopback_policy(), resolver=no_resolver, network=RecordingNetwork())
    assert "more than 3 redirects" in info.value.reasons[0]
    assert "/a.png" not in [path for path, _ in server.requests]


def test_a_redirect_loop_ends_at_the_limit(server: ScriptedServer) -> None:
    server.redirect("/loop", "/loop")
    with pytest.raises(ImageFetchError) as info:
        fetch_images([server.url("/loop")], loopback_policy(), resolver=no_resolver,
                     network=RecordingNetwork())
    assert "redirects" in info.value.reasons[0] and len(server.requests) == 4


@pytest.mark.parametrize(("location", "why"), [
    ("http://169.254.169.254/latest/meta-data/iam/security-credentials/", "metadata"),
    ("http://100.100.100.200/latest/meta-data/", "metadata"),
    ("http://[fd00:ec2::254]/latest/meta-data/", "metadata"),
    ("http://10.0.0.5/internal.png", "private"),
    ("http://internal.example/secret.png", "private"),
    ("http://[::ffff:192.168.0.1]/", "private"),
    ("http://0xa9fea9fe/", "metadata"),
    ("file:///etc/passwd", "scheme"),
    ("gopher://127.0.0.1:6379/_FLUSHALL", "scheme"),
])
def test_a_redirect_from_an_allowed_host_to_a_refused_address_is_refused(
        server: ScriptedServer, location: str, why: str) -> None:
    url = server.redirect("/bounce", location)
    resolver, network = FakeResolver({"internal.example": ["10.9.8.7"]}), RecordingNetwork()
    with pytest.raises(ImageFetchError) as info:
        fetch_images([url], loopback_policy(), resolver=resolver, network=network)
    assert why in info.value.reasons[0], info.value.reasons
    assert network.attempts == [("127.0.0.1", server.port)]  # the first hop only


def test_a_redirect_without_location_or_to_garbage_is_a_reason(server: ScriptedServer) -> None:
    def no_location(h):  # type: ignore[no-untyped-def]
        h.send_response(302)
        h.send_header("Content-Length", "0")
        h.end_headers()

    urls = [server.raw("/nowhere", no_location), server.redirect("/garbage", "http://[not-an-ip/")]
    with pytest.raises(ImageFetchError) as info:
        fetch_images(urls, loopback_policy(), resolver=no_resolver, network=RecordingNetwork())
    assert "without a Location" in info.value.reasons[0]
    assert "redirect refused" in info.value.reasons[1] and "not a valid" in info.value.reasons[1]


def test_a_redirect_to_another_allowed_name_resolves_it_once(server: ScriptedServer) -> None:
    url = server.redirect("/to-cdn", server.url("/a.png", "cdn.example"))
    resolver, network = FakeResolver({"cdn.example": ["127.0.0.1"]}), RecordingNetwork()
    [image] = fetch_images([url], loopback_policy(), resolver=resolver, network=network)
    assert image.size == (64, 48) and resolver.calls == ["cdn.example"]
    assert server.requests[-1] == ("/a.png", f"cdn.example:{server.port}")
