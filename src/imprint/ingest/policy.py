"""What image fetching may do. The seam for SSRF protection: `vet_url` sees every URL, redirects too.

The embedded default allows any host, loopback included, because a single-user install commonly
serves its own training images from the same machine (and the tests do). A shared deployment
should set `allow_private_addresses=False` once address checks land here, and may name an
allow-list of hosts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit


class URLRejected(Exception):
    pass


@dataclass(frozen=True)
class FetchPolicy:
    schemes: frozenset[str] = frozenset({"http", "https"})
    max_bytes: int = 10 * 1024 * 1024
    max_images: int = 20
    max_pixels: int = 40_000_000
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 20.0
    max_redirects: int = 3
    allowed_hosts: frozenset[str] = field(default_factory=frozenset)
    allow_private_addresses: bool = True

    def vet_url(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme.lower() not in self.schemes:
            raise URLRejected(f"scheme {parts.scheme or '(none)'!r} is not allowed; use http or https")
        if not parts.hostname:
            raise URLRejected("the URL has no host")
        if self.allowed_hosts and parts.hostname.lower() not in self.allowed_hosts:
            raise URLRejected(f"host {parts.hostname!r} is not on the operator's allow-list")
        # Address checks (resolving the host and refusing private ranges) belong here, behind
        # allow_private_addresses; until then every resolvable host is fetched.
