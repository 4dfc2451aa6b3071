"""Who a verified request comes from."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Principal:
    """The identity behind a verified signature; ``account_id`` is the tenant every call runs under.

    ``user_id`` is None for the account's own (root) keys, which may do everything in the account;
    a RAM user's calls are authorized by its policies, narrowed by ``session_policy`` (JSON text)
    when the key is a temporary one issued with an inline policy.
    """

    account_id: str
    user_id: str | None
    access_key_id: str
    is_temporary: bool
    session_policy: str | None = None

    @property
    def is_root(self) -> bool:
        return self.user_id is None and not self.is_temporary
