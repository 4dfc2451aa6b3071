"""RAM condition keys computed from the real connection, never from anything the client signs.

``acs:SourceIp`` is the socket peer. Only when that peer is a configured trusted proxy are its
``X-Forwarded-For`` entries believed, walked from the right (the nearest hop) past every further
trusted proxy; the first untrusted address is the client. A spoofed left-most entry therefore never
wins. ``acs:SecureTransport`` follows the same rule with ``X-Forwarded-Proto``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from datetime import datetime

from imprint.auth.ram import RequestContext

_Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class TrustedProxies:
    def __init__(self, cidrs: Iterable[str] = ()) -> None:
        self._networks: tuple[_Network, ...] = tuple(ipaddress.ip_network(c, strict=False) for c in cidrs)

    def __contains__(self, address: object) -> bool:
        if not self._networks or not isinstance(address, str):
            return False
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in net for net in self._networks)

    def __bool__(self) -> bool:
        return bool(self._networks)


def _hops(header_values: Sequence[str]) -> list[str]:
    return [hop.strip() for value in header_values for hop in value.split(",") if hop.strip()]


def client_address(peer: str | None, forwarded_for: Sequence[str], trusted: TrustedProxies) -> str | None:
    if peer is None or peer not in trusted:
        return peer
    hops = _hops(forwarded_for)
    for hop in reversed(hops):
        if hop not in trusted:
            return hop
    return hops[0] if hops else peer


def secure_transport(peer: str | None, scheme: str, forwarded_proto: Sequence[str],
                     trusted: TrustedProxies) -> bool:
    if peer is not None and peer in trusted:
        protos = _hops(forwarded_proto)
        if protos:
            # The proxy appends its own view last; that is the one it vouches for.
            return protos[-1].lower() == "https"
    return scheme.lower() in ("https", "wss")


def request_context(*, peer: str | None, scheme: str, forwarded_for: Sequence[str],
                    forwarded_proto: Sequence[str], now: datetime, trusted: TrustedProxies) -> RequestContext:
    return RequestContext(
        source_ip=client_address(peer, forwarded_for, trusted),
        current_time=now,
        secure_transport=secure_transport(peer, scheme, forwarded_proto, trusted),
    )
