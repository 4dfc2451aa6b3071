"""The administrator's credential for the admin API: a bearer token.

The token itself is shown once by ``imprint admin token``; only its SHA-256 is kept, in
``admin-token.sha256`` in the data directory (mode 0600), or it comes from ``IMPRINT_ADMIN_TOKEN``.
The file is read on every admin call, so a rotated token takes effect at once. Without either,
the admin API is off and its paths answer like any unknown path.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

TOKEN_ENV = "IMPRINT_ADMIN_TOKEN"
HASH_FILE = "admin-token.sha256"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class AdminToken:
    def __init__(self, data_dir: Path, env: Mapping[str, str] | None = None) -> None:
        env = os.environ if env is None else env
        self._path = data_dir / HASH_FILE
        self._env_digest = _digest(env[TOKEN_ENV]) if env.get(TOKEN_ENV) else None

    def _expected(self) -> str | None:
        if self._env_digest is not None:
            return self._env_digest
        try:
            return self._path.read_text().strip() or None
        except FileNotFoundError:
            return None

    @property
    def enabled(self) -> bool:
        return self._expected() is not None

    def accepts(self, authorization: str | None) -> bool:
        expected = self._expected()
        scheme, _, token = (authorization or "").strip().partition(" ")
        if expected is None or scheme.lower() != "bearer" or not token.strip():
            return False
        # Digests of equal length compared in constant time: the token's length leaks nothing either.
        return hmac.compare_digest(_digest(token.strip()), expected)


def create_token(data_dir: Path) -> str:
    """A new token replaces the old one; returns the token, which is not stored anywhere."""
    token = "imprint-admin-" + secrets.token_urlsafe(32)
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / HASH_FILE
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(_digest(token) + "\n")
    os.replace(tmp, path)
    return token
