"""The one client-side ACS3 (V3) signer the tests and benchmarks share, written from the public V3
description (signing.md §3) independently of `imprint.auth`, so a shared mistake cannot hide.

Used for what the official SDKs cannot send: malformed bodies, wrong types, attacks on the
signature itself, temporary-credential headers, and pre-signed benchmark requests.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from urllib.parse import quote, urlencode

SHA256 = "ACS3-HMAC-SHA256"


def digest_name(algorithm: str) -> str:
    return "sm3" if algorithm.endswith("SM3") else "sha256"


def canonical_request(
    method: str,
    path: str,
    params: Sequence[tuple[str, str]],
    headers: dict[str, str],
    signed: Sequence[str],
    body: bytes,
    algorithm: str = SHA256,
) -> str:
    """`params` decoded; `headers` keyed by lowercase name; `signed` the sorted names to sign."""
    query = "&".join(f"{quote(k, safe='~')}={quote(v, safe='~')}" for k, v in sorted(params))
    lines = "".join(f"{name}:{headers[name].strip()}\n" for name in signed)
    body_hash = hashlib.new(digest_name(algorithm), body).hexdigest()
    return f"{method}\n{path}\n{query}\n{lines}\n{';'.join(signed)}\n{body_hash}"


def signature(canonical: str, secret: str, algorithm: str = SHA256) -> str:
    digest = digest_name(algorithm)
    to_sign = f"{algorithm}\n{hashlib.new(digest, canonical.encode()).hexdigest()}"
    return hmac.new(secret.encode(), to_sign.encode(), digest).hexdigest()


def sign_v3(
    method: str,
    path: str,
    query: dict[str, str],
    body: bytes,
    *,
    action: str,
    host: str,
    access_key_id: str,
    secret: str,
    token: str | None = None,
    content_type: str | None = None,
    extra: dict[str, str] | None = None,
    when: datetime | None = None,
    nonce: str | None = None,
) -> tuple[str, dict[str, str]]:
    """An ACS3-HMAC-SHA256 request as the SDKs send it; returns the target and the headers.
    With `token`, the temporary-credential headers are added and signed."""
    headers = {
        "host": host,
        "x-acs-action": action,
        "x-acs-version": "20240611",
        "x-acs-date": (when or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "x-acs-signature-nonce": nonce or uuid.uuid4().hex,
        "x-acs-content-sha256": hashlib.sha256(body).hexdigest(),
    }
    if token is not None:
        headers["x-acs-security-token"] = token
        headers["x-acs-accesskey-id"] = access_key_id
    if content_type:
        headers["content-type"] = content_type
    headers.update({k.lower(): v for k, v in (extra or {}).items()})
    names = sorted(headers)
    value = signature(canonical_request(method, path, list(query.items()), headers, names, body), secret)
    headers["Authorization"] = (
        f"{SHA256} Credential={access_key_id},SignedHeaders={';'.join(names)},Signature={value}"
    )
    target = path + ("?" + urlencode(query) if query else "")
    return target, headers
