"""Secrets at rest: AccessKey secrets and security tokens sealed with AES-256-GCM under a server key.

HMAC verification needs the plain secret, so hashing is not an option; sealing keeps a stolen
database file (or backup) useless without the key file. Each value is bound to its row through the
associated data, so a sealed secret copied onto another key's row does not open.

The key comes from ``IMPRINT_SECRET_KEY`` (urlsafe base64 of 32 bytes) or from ``server.key`` in the
data directory, created with mode 0600 on first start.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import logging
import os
import secrets
import stat
import tempfile
from collections.abc import Mapping
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

log = logging.getLogger(__name__)

KEY_ENV = "IMPRINT_SECRET_KEY"
KEY_FILE = "server.key"
PREFIX = "aesgcm1:"
_NONCE = 12


class SecretUnreadable(Exception):
    """A sealed value that does not open under this server key (wrong key, or tampered)."""


class SecretBox:
    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("the server key must be 32 bytes")
        self._aead = AESGCM(key)

    def __repr__(self) -> str:
        return "SecretBox(<key hidden>)"

    @staticmethod
    def is_sealed(value: str) -> bool:
        return value.startswith(PREFIX)

    def seal(self, plain: str, *, bound_to: str) -> str:
        nonce = os.urandom(_NONCE)
        sealed = self._aead.encrypt(nonce, plain.encode("utf-8"), bound_to.encode("utf-8"))
        return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")

    def open(self, value: str, *, bound_to: str) -> str:
        if not self.is_sealed(value):
            raise SecretUnreadable("the value is not sealed")
        try:
            raw = base64.urlsafe_b64decode(value[len(PREFIX):].encode("ascii"))
            plain = self._aead.decrypt(raw[:_NONCE], raw[_NONCE:], bound_to.encode("utf-8"))
        except (InvalidTag, ValueError, binascii.Error):
            raise SecretUnreadable("the sealed value does not open under this server key") from None
        return plain.decode("utf-8")


def _decode_key(text: str, source: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(text.strip().encode("ascii"))
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != 32:
        raise ValueError(f"{source} must hold 32 bytes as urlsafe base64 (e.g. from `imprint secret-key`)")
    return key


def new_key_text() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii")


def _create_key_file(path: Path) -> None:
    # Written to a private temporary file, then linked into place: link never replaces, so two
    # processes starting at once agree on one key, and no reader ever sees a half-written file.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".server-key-")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(new_key_text() + "\n")
            f.flush()
            os.fsync(f.fileno())
        with contextlib.suppress(FileExistsError):  # another process won; its key is the key
            os.link(tmp, path)
    finally:
        os.unlink(tmp)


def load_server_key(data_dir: Path, env: Mapping[str, str] | None = None) -> SecretBox:
    env = os.environ if env is None else env
    if env.get(KEY_ENV):
        return SecretBox(_decode_key(env[KEY_ENV], KEY_ENV))
    path = data_dir / KEY_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        _create_key_file(path)
        log.info("created the server key %s (mode 0600); back it up with the database", path)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        log.warning("%s was readable by others (mode %o); restricting it to 0600", path, mode)
        path.chmod(0o600)
    return SecretBox(_decode_key(path.read_text(), str(path)))
