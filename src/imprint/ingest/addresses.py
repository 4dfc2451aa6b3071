"""Which addresses a fetch may connect to, decided on the address itself, never on how the host was spelt.

Everything that is not plainly public is refused: loopback, private, link-local, multicast, unspecified,
reserved and shared (CGNAT) ranges, in IPv4 and IPv6, and IPv4 addresses wrapped in IPv6 (mapped,
NAT64, 6to4) are judged by the IPv4 address inside. An operator may allow named networks for an
on-premise image store; cloud metadata endpoints stay refused even then, because an allow-list written
for "our 100.64/10 storage network" should not quietly open Alibaba's metadata service too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network

METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(
    ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200")
)
_NAT64 = ip_network("64:ff9b::/96")

# What inet_aton (and so getaddrinfo) reads as an IPv4 address: one to four parts, each decimal, octal
# with a leading 0, or hex with 0x; `http://2130706433/` and `http://0x7f.1/` are both 127.0.0.1.
_NUMERIC_PART = re.compile(r"0x[0-9a-f]*|[0-9]+", re.IGNORECASE)


def parse_networks(values: Iterable[str]) -> tuple[IPNetwork, ...]:
    """CIDRs from the operator; several may share one value, separated by commas or spaces."""
    networks: list[IPNetwork] = []
    for value in values:
        for item in re.split(r"[,\s]+", value.strip()):
            if not item:
                continue
            try:
                networks.append(ip_network(item, strict=False))
            except ValueError as exc:
                raise ValueError(f"{item!r} is not a CIDR network like 10.0.0.0/8 ({exc})") from None
    return tuple(networks)


def literal_address(host: str) -> IPAddress | None:
    """The address a numeric host names, however it is spelt, or None for a name to resolve.

    Numeric spellings are parsed here rather than handed to the resolver, so what is vetted does not
    depend on how the C library happens to read `0x7f.1`; a spelling that is numeric but not a valid
    address is refused rather than guessed at.
    """
    if ":" in host:
        try:
            return ip_address(host.strip("[]"))
        except ValueError:
            raise ValueError(f"{host!r} is not a valid IPv6 address") from None
    parts = host.removesuffix(".").split(".")
    if not all(_NUMERIC_PART.fullmatch(part) for part in parts):
        return None
    try:
        numbers = [_inet_aton_part(part) for part in parts]
    except ValueError:
        raise ValueError(f"{host!r} is not a valid IPv4 address") from None
    if len(numbers) > 4 or any(n > 255 for n in numbers[:-1]) or numbers[-1] >= 256 ** (5 - len(numbers)):
        raise ValueError(f"{host!r} is not a valid IPv4 address")
    value = numbers[-1]
    for position, number in enumerate(numbers[:-1]):
        value |= number << (8 * (3 - position))
    return IPv4Address(value)


def _inet_aton_part(part: str) -> int:
    if part[:2].lower() == "0x":
        return int(part[2:] or "0", 16)
    if len(part) > 1 and part.startswith("0"):
        return int(part, 8)
    return int(part)


def embedded_ipv4(address: IPAddress) -> IPv4Address | None:
    """The IPv4 address an IPv6 address stands for, where the network would deliver it there."""
    if isinstance(address, IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return IPv4Address(int(address) & 0xFFFF_FFFF)
    return address.sixtofour


def refusal(address: IPAddress, allowed: Sequence[IPNetwork] = ()) -> str | None:
    """Why a fetch may not connect to `address`, or None when it may."""
    inner = embedded_ipv4(address)
    if address in METADATA_ADDRESSES or inner in METADATA_ADDRESSES:
        return "a cloud metadata address"
    candidates = [address] if inner is None else [address, inner]
    if any(a.version == net.version and a in net for net in allowed for a in candidates):
        return None
    if inner is not None:
        why = _class_refusal(inner)
        return None if why is None else f"{why} ({inner} inside {address})"
    return _class_refusal(address)


def _class_refusal(address: IPAddress) -> str | None:
    # Order matters only for the message: the most specific class is named.
    if address.is_unspecified:
        return "the unspecified address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if isinstance(address, IPv6Address) and address.is_site_local:
        return "a site-local address"
    if address.is_reserved:
        return "a reserved address"
    if address.is_private:
        return "a private address"
    if not address.is_global:
        return "not a public address"
    return None


def dial_form(address: IPAddress) -> str:
    """The string to connect to: IPv4-mapped addresses are dialled as plain IPv4 so AF_INET is used."""
    mapped = address.ipv4_mapped if isinstance(address, IPv6Address) else None
    return str(mapped or address)
