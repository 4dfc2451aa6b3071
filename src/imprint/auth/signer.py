"""ACS3-HMAC-SHA256 signing for imprint's own clients (the `imprint` CLI), built on the very
canonicalisation the verifier uses, so client and server cannot drift apart.

Requests are signed the way Alibaba's new SDK signs them (signing.md §3): every x-acs-* header and
the host, plus the content type when there is a body; temporary credentials add and sign
`x-acs-security-token` and `x-acs-accesskey-id`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from imprint.auth.acs3 import HMAC_SHA256
from imprint.auth.canonical import rfc3986_encode
from imprint.auth.digests import hexdigest, hmac_hexdigest

API_VERSION = "20240611"


@dataclass(frozen=True)
class ClientCredentials:
    access_key_id: str
    access_key_secret: str
    security_token: str | None = None


def encode_query(query: Mapping[str, str]) -> str:
    """The query as sent: sorted and RFC 3986-escaped, which is already its canonical form."""
    return "&".join(f"{rfc3986_encode(k)}={rfc3986_encode(v)}" for k, v in sorted(query.items()))


def sign_acs3(*, method: str, host: str, path: str, query: Mapping[str, str], body: bytes, action: str,
              credentials: ClientCredentials, content_type: str | None = None, version: str = API_VERSION,
              now: datetime | None = None, nonce: str | None = None,
              extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The headers that make the request signed, Authorization included; `extra` headers (accept,
    user-agent) are sent and signed too."""
    headers = {
        "host": host,
        "x-acs-action": action,
        "x-acs-version": version,
        "x-acs-date": (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "x-acs-signature-nonce": nonce or uuid.uuid4().hex,
        "x-acs-content-sha256": hexdigest("sha256", body),
    }
    if credentials.security_token:
        headers["x-acs-security-token"] = credentials.security_token
        headers["x-acs-accesskey-id"] = credentials.access_key_id
    if content_type:
        headers["content-type"] = content_type
    headers.update({name.lower(): value for name, value in (extra or {}).items()})
    names = sorted(headers)
    lines = "".join(f"{name}:{headers[name].strip()}\n" for name in names)
    signed = ";".join(names)
    canonical = "\n".join((method, path, encode_query(query), lines, signed, headers["x-acs-content-sha256"]))
    to_sign = f"{HMAC_SHA256}\n{hexdigest('sha256', canonical.encode('utf-8'))}"
    secret = credentials.access_key_secret.encode("utf-8")
    signature = hmac_hexdigest("sha256", secret, to_sign.encode("utf-8"))
    headers["authorization"] = (f"{HMAC_SHA256} Credential={credentials.access_key_id},"
                                f"SignedHeaders={signed},Signature={signature}")
    return headers
