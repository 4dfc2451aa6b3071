"""Authentication before dispatch: the verified signature yields the Principal (and so the tenant)."""

from __future__ import annotations

from datetime import datetime

from imprint.api.services import Services
from imprint.auth import verify_request
from imprint.auth.principal import Principal


def authenticate(services: Services, *, method: str, raw_path: bytes, query: bytes,
                 headers: list[tuple[bytes, bytes]], body: bytes, action: str, now: datetime) -> Principal:
    target = raw_path + (b"?" + query if query else b"")
    return verify_request(
        method=method, raw_target=target.decode("utf-8", "surrogateescape"),
        headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in headers], body=body,
        expected_action=action, keys=services.keys, nonces=services.nonces, now=now)
