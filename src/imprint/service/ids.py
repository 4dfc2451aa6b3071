"""Identifier formats: time-based UUIDs like the real service, but with a random node, not the MAC."""

from __future__ import annotations

import secrets
import string
import uuid


def time_uuid() -> str:
    return str(uuid.uuid1(node=secrets.randbits(48) | 0x010000000000))


def model_id(object_type: str) -> str:
    return f"{object_type}_{time_uuid()}"


def v1_image_id(index: int) -> str:
    return f"{index:04d}.png"


def account_id() -> str:
    return str(secrets.randbelow(9 * 10**15) + 10**15)


def access_key_id() -> str:
    alphabet = string.ascii_letters + string.digits
    return "LTAI" + "".join(secrets.choice(alphabet) for _ in range(20))


def access_key_secret() -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(30))


def random_seed() -> int:
    return secrets.randbelow(2**31 - 1)


def user_id() -> str:
    return str(secrets.randbelow(9 * 10**15) + 10**15)


def temporary_access_key_id() -> str:
    # Alibaba's temporary AccessKey ids start with "STS.", which tells operators what they are.
    alphabet = string.ascii_letters + string.digits
    return "STS." + "".join(secrets.choice(alphabet) for _ in range(24))


def temporary_secret() -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(40))


def security_token() -> str:
    return "CAIS" + secrets.token_urlsafe(96)
