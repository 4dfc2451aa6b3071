"""What fetching and decoding caller-supplied images may do; every limit is set here, none is global.

The default refuses every address that is not public (see `addresses.py`). An operator whose image
store lives on a private network names it in `allow_networks` (`imprint serve --allow-fetch-from
10.1.0.0/16`); the tests, which serve images from loopback, allow 127.0.0.0/8 the same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import httpx

from imprint.ingest.addresses import IPAddress, IPNetwork, refusal

# Names after IDNA encoding (letters, digits, hyphens, underscores, dots) or IPv6 literals, which may
# carry a zone id; httpx has already lower-cased the host.
_HOST = re.compile(r"[a-z0-9_.-]+|[0-9a-f:.]+(%25[a-z0-9_.~-]+)?", re.IGNORECASE)


class URLRejected(Exception):
    """The URL, or what its server sent back, may not be used; the message says why."""


@dataclass(frozen=True)
class FetchPolicy:
    schemes: frozenset[str] = frozenset({"http", "https"})
    max_bytes: int = 20 * 1024 * 1024
    max_images: int = 50
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 20.0
    # Wall clock for one image, redirects, DNS and a slow server's trickle included.
    total_timeout_s: float = 60.0
    max_redirects: int = 3
    allowed_hosts: frozenset[str] = field(default_factory=frozenset)
    allow_networks: tuple[IPNetwork, ...] = ()
    # Decoding. The pixel budget is checked from the header, before any pixel is decompressed, and is
    # kept below Pillow's own global bomb limit (89M) so that ours is the one that speaks.
    max_pixels: int = 40_000_000
    min_side: int = 8
    max_aspect_ratio: float = 10.0
    # Decoded images are scaled down so their short side is at most this: the engine trains at 1024
    # or less, and fifty full-size photos held at once would otherwise take gigabytes.
    max_short_side: int = 2048
    # Only the formats photos come in: each decoder is attack surface, and some Pillow plugins (EPS)
    # run external programs.
    formats: tuple[str, ...] = ("JPEG", "PNG", "WEBP", "GIF", "BMP")

    def vet_url(self, url: str | httpx.URL) -> httpx.URL:
        """The URL parsed the way the HTTP client will read it, if its scheme and host may be used."""
        try:
            parsed = url if isinstance(url, httpx.URL) else httpx.URL(url)
        except (httpx.InvalidURL, TypeError, ValueError) as exc:
            raise URLRejected(f"not a valid URL ({exc})") from None
        if parsed.scheme.lower() not in self.schemes:
            raise URLRejected(f"scheme {parsed.scheme or '(none)'!r} is not allowed; use http or https")
        if not parsed.raw_host:
            raise URLRejected("the URL has no host")
        if not _HOST.fullmatch(parsed.raw_host.decode("ascii", "replace")):
            # Whatever is not a DNS name or an address literal is refused rather than left to the
            # resolver's interpretation.
            raise URLRejected(f"{parsed.raw_host.decode('ascii', 'replace')!r} is not a valid host name")
        if parsed.port is not None and not 0 < parsed.port < 65536:
            raise URLRejected(f"port {parsed.port} does not exist")
        if self.allowed_hosts and parsed.host.lower() not in self.allowed_hosts:
            raise URLRejected(f"host {parsed.host!r} is not on the operator's allow-list")
        return parsed

    def address_refusal(self, address: IPAddress) -> str | None:
        return refusal(address, self.allow_networks)
