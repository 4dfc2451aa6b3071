"""Who a verified request comes from."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Principal:
    """The identity behind a verified signature; ``account_id`` is the tenant every call runs under."""

    account_id: str
    user_id: str | None
    access_key_id: str
    is_temporary: bool
