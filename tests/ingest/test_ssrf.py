"""SSRF through `fetch_images`: refusals happen before any connection, and connections go to the vetted
address. DNS is a FakeResolver and the network a RecordingNetwork: no packet leaves loopback."""

from __future__ import annotations

import datetime
import http.server
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ingestkit import (
    REFUSED,
    FakeResolver,
    RecordingNetwork,
    ScriptedServer,
    loopback_policy,
    no_resolver,
    photo,
)

from imprint.ingest import FetchPolicy, ImageFetchError, fetch_images, parse_networks


def refused(urls: list[str], policy: FetchPolicy | None = None, resolver: Any = no_resolver,
            network: RecordingNetwork | None = None) -> dict[int, str]:
    with pytest.raises(ImageFetchError) as info:
        fetch_images(urls, policy or FetchPolicy(), resolver=resolver, network=network or RecordingNetwork())
    return info.value.reasons


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    srv = ScriptedServer()
    yield srv
    srv.close()


@pytest.mark.parametrize(("address", "why"), REFUSED)
def test_a_name_resolving_to_a_refused_address_is_never_dialled(address: str, why: str) -> None:
    resolver, network = FakeResolver({"images.example": [address]}), RecordingNetwork()
    reasons = refused(["http://images.example/cat.png"], resolver=resolver, network=network)
    assert why in reasons[0] and "not allowed" in reasons[0], reasons
    assert resolver.calls == ["images.example"] and network.attempts == []


@pytest.mark.parametrize(("url", "why"), [
    ("http://2130706433/", "loopback"),
    ("http://0x7f.1/", "loopback"),
    ("http://0x7f000001/", "loopback"),
    ("http://017700000001/", "loopback"),
    ("http://127.1:8080/a.png", "loopback"),
    ("http://0/", "unspecified"),
    ("http://0x0a.0.0.1/", "private"),
    ("http://0xa9.0xfe.0xa9.0xfe/latest/meta-data/", "metadata"),
    ("http://169.254.169.254./latest/meta-data/", "metadata"),
    ("http://100.100.100.200/latest/meta-data/", "metadata"),
    ("http://[::1]/", "loopback"),
    ("http://[::]/", "unspecified"),
    ("http://[::ffff:127.0.0.1]/", "loopback"),
    ("http://[::ffff:7f00:1]/", "loopback"),
    ("http://[::ffff:a9fe:a9fe]/", "metadata"),
    ("http://[fd00:ec2::254]/latest/meta-data/", "metadata"),
    ("http://[64:ff9b::a00:1]/", "private"),
    ("http://[fe80::1%25eth0]/", "link-local"),
    ("http://[FE80::1]/", "link-local"),
    ("http://[FD00:EC2::254]/", "metadata"),
    ("https://192.168.0.1/router.png", "private"),
    ("http://1.2.3.4.5/", "not a valid IPv4"),
    ("http://0177.0.0.1/", "not a valid URL"),
])
def test_numeric_hosts_are_refused_without_resolving_or_dialling(url: str, why: str) -> None:
    network = RecordingNetwork()
    reasons = refused([url], network=network)
    assert why in reasons[0], reasons
    assert network.attempts == []


@pytest.mark.parametrize("url", [
    "file:///etc/passwd",
    "ftp://example.com/a.png",
    "gopher://127.0.0.1:6379/_INFO",
    "dict://127.0.0.1:11211/stats",
    "data:image/png;base64,iVBORw0KGgo=",
    "javascript:alert(1)",
    "//example.com/a.png",
    "http:///a.png",
    "not a url at all",
    "http://exa mple.com/a.png",
    "http://93.184.216.34:99999/a.png",
    "http://ex%41mple.com/a.png",
])
def test_other_schemes_and_broken_urls_are_refused(url: str) -> None:
    network = RecordingNetwork()
    reasons = refused([url], network=network)
    assert reasons[0].startswith(url[:20]) and network.attempts == []


def test_one_inward_address_among_public_ones_refuses_the_name() -> None:
    resolver = FakeResolver({"mixed.example": ["93.184.216.34", "10.0.0.7", "2606:4700::1"]})
    network = RecordingNetwork()
    reasons = refused(["http://mixed.example/a.png"], resolver=resolver, network=network)
    assert "10.0.0.7" in reasons[0] and "private" in reasons[0]
    assert network.attempts == []


def test_a_public_address_is_dialled_by_address_not_by_name() -> None:
    # The test network records the attempt and refuses it without opening a socket.
    resolver, network = FakeResolver({"cdn.example": ["93.184.216.34"]}), RecordingNetwork()
    reasons = refused(["https://cdn.example/a.png"], resolver=resolver, network=network)
    assert network.attempts == [("93.184.216.34", 443)]
    assert "could not be fetched" in reasons[0] and "does not leave loopback" in reasons[0]


def test_unresolvable_names_and_nonsense_answers_are_reasons() -> None:
    resolver = FakeResolver({"weird.example": ["not-an-ip"], "empty.example": []})
    network = RecordingNetwork()
    reasons = refused(["http://nowhere.example/a.png", "http://weird.example/a.png",
                       "http://empty.example/a.png"], resolver=resolver, network=network)
    assert "could not be resolved" in reasons[0]
    assert "not an address" in reasons[1]
    assert "no addresses" in reasons[2]
    assert network.attempts == []


def test_a_resolver_that_hangs_costs_the_image_not_the_worker() -> None:
    release = threading.Event()

    def stuck(host: str, port: int) -> list[str]:
        release.wait(60)
        return ["93.184.216.34"]

    network = RecordingNetwork()
    started = time.monotonic()
    try:
        reasons = refused(["http://slow-dns.example/a.png"], FetchPolicy(connect_timeout_s=0.3),
                          resolver=stuck, network=network)
    finally:
        release.set()
    assert time.monotonic() - started < 15
    assert "took longer" in reasons[0] and network.attempts == []


def test_allow_list_opens_the_named_private_network_and_nothing_else() -> None:
    policy = FetchPolicy(allow_networks=parse_networks(["10.0.0.0/8"]))
    resolver = FakeResolver({"store.corp": ["10.1.2.3"], "other.corp": ["192.168.1.5"],
                             "meta.corp": ["169.254.169.254"]})
    network = RecordingNetwork()
    reasons = refused(["http://store.corp/a.png", "http://other.corp/a.png", "http://meta.corp/a.png",
                       "http://127.0.0.1/a.png"], policy, resolver, network)
    assert network.attempts == [("10.1.2.3", 80)]  # allowed; the test network then refuses to dial it
    assert "could not be fetched" in reasons[0]
    assert "private" in reasons[1] and "metadata" in reasons[2] and "loopback" in reasons[3]


def test_the_default_policy_refuses_loopback(server: ScriptedServer) -> None:
    url = server.serve("/a.png", photo())
    network = RecordingNetwork()
    reasons = refused([url, server.url("/a.png", "localhost")], FetchPolicy(),
                      FakeResolver({"localhost": ["127.0.0.1", "::1"]}), network)
    assert "loopback" in reasons[0] and "loopback" in reasons[1]
    assert network.attempts == [] and server.requests == []


def test_the_connection_goes_to_the_vetted_address_with_the_original_host_header(
        server: ScriptedServer) -> None:
    server.serve("/a.png", photo())
    resolver, network = FakeResolver({"images.example": ["127.0.0.1"]}), RecordingNetwork()
    [image] = fetch_images([server.url("/a.png", "images.example")], loopback_policy(),
                           resolver=resolver, network=network)
    assert image.size == (64, 48)
    assert network.attempts == [("127.0.0.1", server.port)]
    assert server.requests == [("/a.png", f"images.example:{server.port}")]


def test_a_rebinding_name_is_resolved_once_per_image_and_never_redialled_elsewhere(
        server: ScriptedServer) -> None:
    server.redirect("/hop1", "/hop2")
    server.redirect("/hop2", "/a.png")
    server.serve("/a.png", photo())
    # First answer loopback (allowed here), every later answer a private address that is not.
    resolver = FakeResolver({"rebind.example": ["127.0.0.1"]}, later={"rebind.example": ["10.0.0.1"]})
    network = RecordingNetwork()
    [image] = fetch_images([server.url("/hop1", "rebind.example")], loopback_policy(),
                           resolver=resolver, network=network)
    assert image.size == (64, 48)
    assert resolver.calls == ["rebind.example"]
    assert {host for host, _ in network.attempts} == {"127.0.0.1"}
    # The next image resolves afresh, gets the rebound answer, and is refused before dialling.
    attempts_before = len(network.attempts)
    reasons = refused([server.url("/a.png", "rebind.example")], loopback_policy(), resolver, network)
    assert "10.0.0.1" in reasons[0] and len(network.attempts) == attempts_before


# TLS: the socket goes to the pinned address, but SNI and certificate checks use the name.

def _certificate(tmp: Path, name: str) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    day = datetime.timedelta(days=1)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - day).not_valid_after(now + day)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp / f"{name}.crt", tmp / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


class TLSServer:
    def __init__(self, cert: Path, key: Path, body: bytes) -> None:
        self.server_names: list[str | None] = []
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        context.sni_callback = lambda sock, name, ctx: self.server_names.append(name)

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def test_tls_uses_the_name_for_sni_and_certificate_while_dialling_the_pinned_address(tmp_path: Path) -> None:
    cert, key = _certificate(tmp_path, "images.example")
    tls = TLSServer(cert, key, photo())
    try:
        trust = ssl.create_default_context(cafile=str(cert))
        resolver = FakeResolver({"images.example": ["127.0.0.1"], "impostor.example": ["127.0.0.1"]})
        network = RecordingNetwork()
        [image] = fetch_images([f"https://images.example:{tls.port}/a.png"], loopback_policy(),
                               resolver=resolver, network=network, ssl_context=trust)
        assert image.size == (64, 48)
        assert tls.server_names == ["images.example"]
        assert network.attempts == [("127.0.0.1", tls.port)]
        # Same address, another name: the certificate does not match it, so the fetch must fail.
        with pytest.raises(ImageFetchError) as info:
            fetch_images([f"https://impostor.example:{tls.port}/a.png"], loopback_policy(),
                         resolver=resolver, network=network, ssl_context=trust)
        assert "certificate" in info.value.reasons[0].lower(), info.value.reasons
    finally:
        tls.close()
