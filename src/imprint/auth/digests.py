"""Hashes and HMACs by name, with a pure-Python SM3 fallback for OpenSSL builds without SM3."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable

_HMAC_BLOCK_SIZE = 64  # SHA-256 and SM3 both use 64-byte blocks


def _gmssl_sm3(data: bytes) -> bytes:
    from gmssl import func, sm3

    return bytes.fromhex(sm3.sm3_hash(func.bytes_to_list(data)))


def _hash_function(algorithm: str, use_openssl: bool) -> Callable[[bytes], bytes] | None:
    if use_openssl and algorithm in hashlib.algorithms_available:
        return None
    if algorithm == "sm3":
        return _gmssl_sm3
    raise ValueError(f"unsupported digest {algorithm!r}")


def hexdigest(algorithm: str, data: bytes, *, use_openssl: bool = True) -> str:
    """Lowercase hex digest of ``data`` (``algorithm`` is ``sha256`` or ``sm3``)."""
    if algorithm == "sha256" and use_openssl:  # every build has it; hashlib.new() looks it up by name
        return hashlib.sha256(data).hexdigest()
    fallback = _hash_function(algorithm, use_openssl)
    return fallback(data).hex() if fallback else hashlib.new(algorithm, data).hexdigest()


def hmac_hexdigest(algorithm: str, key: bytes, message: bytes, *, use_openssl: bool = True) -> str:
    """Lowercase hex HMAC; RFC 2104 by hand only when OpenSSL lacks the digest."""
    fallback = _hash_function(algorithm, use_openssl)
    if fallback is None:
        # The one-shot C implementation: hmac.new() builds and copies two hash objects in Python.
        return hmac.digest(key, message, algorithm).hex()
    if len(key) > _HMAC_BLOCK_SIZE:
        key = fallback(key)
    key = key.ljust(_HMAC_BLOCK_SIZE, b"\0")
    inner = fallback(bytes(b ^ 0x36 for b in key) + message)
    return fallback(bytes(b ^ 0x5C for b in key) + inner).hex()
