"""RAM condition keys behind a trusted reverse proxy: X-Forwarded-For/-Proto are believed only from
configured proxies, and only up to the first untrusted hop (a client's own header cannot win)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from seckit import Key, SecServer, policy, running, settings

from imprint.auth.connection import TrustedProxies, client_address, request_context, secure_transport

NET = "203.0.113.0/24"


@pytest.fixture(scope="module")
def proxied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecServer]:
    with running(
        settings(tmp_path_factory.mktemp("proxied"), trusted_proxies=("127.0.0.1", "10.0.0.0/8"))
    ) as srv:
        yield srv


def _user(server: SecServer, condition: dict[str, Any]) -> Key:
    doc = policy({"Effect": "Allow", "Action": "aicontent:*", "Resource": "*", "Condition": condition})
    return server.user(server.account_of(server.account("proxied")), doc)[1]


@pytest.mark.parametrize(
    ("forwarded_for", "ok"),
    [
        ("203.0.113.7", True),
        ("203.0.113.7, 10.1.2.3", True),  # through a second trusted proxy
        ("203.0.113.7,10.1.2.3, 127.0.0.1", True),
        (
            "203.0.113.7, 198.51.100.9",
            False,
        ),  # the client forged the left entry; its real address is the right one
        ("198.51.100.9", False),
        (None, False),  # the proxy itself (127.0.0.1) is the client
        ("not-an-ip", False),
    ],
)
def test_source_ip_behind_a_trusted_proxy(proxied: SecServer, forwarded_for: str | None, ok: bool) -> None:
    key = _user(proxied, {"IpAddress": {"acs:SourceIp": NET}})
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    resp = proxied.call(key, "queryModelTrainJobList", headers=headers)
    assert resp.status_code == (200 if ok else 403), resp.text


@pytest.mark.parametrize(
    ("proto", "ok"), [("https", True), ("http", False), ("http, https", True), (None, False)]
)
def test_secure_transport_behind_a_trusted_proxy(proxied: SecServer, proto: str | None, ok: bool) -> None:
    key = _user(proxied, {"Bool": {"acs:SecureTransport": "true"}})
    headers = {"X-Forwarded-Proto": proto} if proto else {}
    assert proxied.call(key, "queryModelTrainJobList", headers=headers).status_code == (200 if ok else 403)


TRUSTED = TrustedProxies(["10.0.0.0/8", "::1", "fd00::/8"])


@pytest.mark.parametrize(
    ("peer", "chain", "expected"),
    [
        ("198.51.100.1", ["203.0.113.7"], "198.51.100.1"),  # untrusted peer: headers ignored
        ("10.0.0.1", [], "10.0.0.1"),
        ("10.0.0.1", ["203.0.113.7"], "203.0.113.7"),
        ("10.0.0.1", ["203.0.113.7, 10.9.9.9", "10.0.0.2"], "203.0.113.7"),  # repeated headers are one list
        ("10.0.0.1", ["10.0.0.3, 10.0.0.2"], "10.0.0.3"),  # all trusted: the far end
        ("::1", ["2001:db8::5"], "2001:db8::5"),
        ("fd00::1", ["  ", ""], "fd00::1"),
        (None, ["203.0.113.7"], None),
    ],
)
def test_client_address(peer: str | None, chain: list[str], expected: str | None) -> None:
    assert client_address(peer, chain, TRUSTED) == expected


def test_secure_transport_and_context() -> None:
    assert secure_transport("1.2.3.4", "https", [], TRUSTED) is True
    assert secure_transport("1.2.3.4", "http", ["https"], TRUSTED) is False
    assert secure_transport("10.0.0.1", "http", ["https"], TRUSTED) is True
    assert not TrustedProxies() and "10.0.0.1" not in TrustedProxies() and "x" not in TRUSTED
    now = datetime(2026, 1, 1)
    ctx = request_context(
        peer="10.0.0.1",
        scheme="http",
        forwarded_for=["203.0.113.7"],
        forwarded_proto=[],
        now=now,
        trusted=TRUSTED,
    )
    assert (ctx.source_ip, ctx.current_time, ctx.secure_transport) == ("203.0.113.7", now, False)
    with pytest.raises(ValueError):
        TrustedProxies(["not a network"])
