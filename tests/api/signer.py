"""A minimal client-side ACS3-HMAC-SHA256 signer, for requests the SDKs cannot make (malformed
bodies, wrong types) and for pre-signing benchmark requests."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from datetime import UTC, datetime
from urllib.parse import quote, urlencode


def sign(
    method: str,
    path: str,
    query: dict[str, str],
    body: bytes,
    *,
    action: str,
    host: str,
    access_key_id: str,
    secret: str,
    content_type: str | None = None,
    nonce: str | None = None,
) -> tuple[str, dict[str, str]]:
    """Returns the request target and headers of a V3-signed request."""
    headers = {
        "host": host,
        "x-acs-action": action,
        "x-acs-version": "20240611",
        "x-acs-date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "x-acs-signature-nonce": nonce or uuid.uuid4().hex,
        "x-acs-content-sha256": hashlib.sha256(body).hexdigest(),
    }
    if content_type:
        headers["content-type"] = content_type
    names = sorted(headers)
    canonical_query = "&".join(
        f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in sorted(query.items())
    )
    canonical = "\n".join(
        [
            method,
            path,
            canonical_query,
            "".join(f"{n}:{headers[n].strip()}\n" for n in names),
            ";".join(names),
            headers["x-acs-content-sha256"],
        ]
    )
    to_sign = "ACS3-HMAC-SHA256\n" + hashlib.sha256(canonical.encode()).hexdigest()
    signature = hmac.new(secret.encode(), to_sign.encode(), hashlib.sha256).hexdigest()
    headers["Authorization"] = (
        f"ACS3-HMAC-SHA256 Credential={access_key_id},SignedHeaders={';'.join(names)},Signature={signature}"
    )
    target = path + ("?" + urlencode(query) if query else "")
    return target, headers
