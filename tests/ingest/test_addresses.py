"""The address rules as a table: no network, no resolver."""

from __future__ import annotations

from ipaddress import ip_address, ip_network

import pytest
from ingestkit import REFUSED

from imprint.ingest.addresses import dial_form, embedded_ipv4, literal_address, parse_networks, refusal


@pytest.mark.parametrize(("address", "why"), REFUSED)
def test_refused_address_classes(address: str, why: str) -> None:
    reason = refusal(ip_address(address))
    assert reason is not None and why in reason, reason


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111",
                                     "::ffff:93.184.216.34", "64:ff9b::808:808"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert refusal(ip_address(address)) is None


def test_allow_list_opens_named_networks_only() -> None:
    allowed = parse_networks(["10.0.0.0/8", "fd00:1234::/32"])
    assert refusal(ip_address("10.20.30.40"), allowed) is None
    assert refusal(ip_address("fd00:1234::5"), allowed) is None
    assert refusal(ip_address("::ffff:10.1.1.1"), allowed) is None
    assert "private" in (refusal(ip_address("192.168.1.1"), allowed) or "")
    assert "loopback" in (refusal(ip_address("127.0.0.1"), allowed) or "")


@pytest.mark.parametrize("address", ["169.254.169.254", "100.100.100.200", "fd00:ec2::254",
                                     "::ffff:169.254.169.254"])
def test_metadata_addresses_stay_refused_even_when_their_network_is_allowed(address: str) -> None:
    everything = parse_networks(["0.0.0.0/0", "::/0"])
    assert "metadata" in (refusal(ip_address(address), everything) or "")
    assert refusal(ip_address("169.254.1.1"), everything) is None


@pytest.mark.parametrize(("host", "address"), [
    ("2130706433", "127.0.0.1"),
    ("0x7f.1", "127.0.0.1"),
    ("0x7f000001", "127.0.0.1"),
    ("017700000001", "127.0.0.1"),
    ("0177.0.0.1", "127.0.0.1"),
    ("127.1", "127.0.0.1"),
    ("127.0.1", "127.0.0.1"),
    ("0", "0.0.0.0"),
    ("0xa9.0xfe.0xa9.0xfe", "169.254.169.254"),
    ("169.254.169.254.", "169.254.169.254"),
    ("10.0.0.1", "10.0.0.1"),
    ("::1", "::1"),
    ("[::ffff:7f00:1]", "::ffff:127.0.0.1"),
])
def test_numeric_host_spellings_are_read_as_addresses(host: str, address: str) -> None:
    assert literal_address(host) == ip_address(address)


@pytest.mark.parametrize("host", ["1.2.3.4.5", "256.0.0.1", "1.2.65536", "09.0.0.1", "4294967296", "1::2::3"])
def test_numeric_looking_hosts_that_are_not_addresses_are_errors(host: str) -> None:
    with pytest.raises(ValueError):
        literal_address(host)


@pytest.mark.parametrize("host", ["example.com", "0x7f.example", "localhost", "1.2.3.example", "deadbeef"])
def test_names_are_left_to_the_resolver(host: str) -> None:
    assert literal_address(host) is None


def test_embedded_ipv4_and_dial_form() -> None:
    assert embedded_ipv4(ip_address("::ffff:1.2.3.4")) == ip_address("1.2.3.4")
    assert embedded_ipv4(ip_address("64:ff9b::102:304")) == ip_address("1.2.3.4")
    assert embedded_ipv4(ip_address("2002:102:304::")) == ip_address("1.2.3.4")
    assert embedded_ipv4(ip_address("2606:4700::1")) is None
    assert dial_form(ip_address("::ffff:127.0.0.1")) == "127.0.0.1"
    assert dial_form(ip_address("2606:4700::1")) == "2606:4700::1"


def test_parse_networks_accepts_repeats_commas_and_spaces() -> None:
    assert parse_networks(["10.0.0.0/8,192.168.0.0/16", " fd00::/8 ", "172.16.0.1/12"]) == (
        ip_network("10.0.0.0/8"), ip_network("192.168.0.0/16"), ip_network("fd00::/8"),
        ip_network("172.16.0.0/12"))
    assert parse_networks([]) == () and parse_networks([""]) == ()
    for bad in ("10.0.0.0/33", "not-a-network", "10.0.0.0/8;rm"):
        with pytest.raises(ValueError, match="CIDR"):
            parse_networks([bad])
