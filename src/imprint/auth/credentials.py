"""What the verifier needs to know about AccessKeys and seen nonces: the values and the interfaces."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

TIMESTAMP_WINDOW = timedelta(minutes=15)
# A request stamped up to one window in the future stays acceptable until one window after its
# stamp, i.e. up to two windows after it was first seen; forgetting its nonce earlier would let it
# be replayed inside that gap.
NONCE_RETENTION = 2 * TIMESTAMP_WINDOW


@dataclass(frozen=True)
class AccessKey:
    """A stored AccessKey. A temporary (STS) key carries its security token and expiry."""

    access_key_id: str
    secret: str
    account_id: str
    user_id: str | None
    active: bool
    security_token: str | None = None
    expires_at: datetime | None = None
    # JSON text of the inline policy a temporary key was issued with; it can only narrow the user's.
    session_policy: str | None = None

    @property
    def is_temporary(self) -> bool:
        return self.security_token is not None

    def __repr__(self) -> str:
        # Keeps the secret and token out of logs and tracebacks.
        return (
            f"AccessKey(access_key_id={self.access_key_id!r}, account_id={self.account_id!r}, "
            f"user_id={self.user_id!r}, active={self.active}, temporary={self.is_temporary})"
        )


class KeyLookup(Protocol):
    def get(self, access_key_id: str) -> AccessKey | None: ...


# One nonce claim: (access_key_id, nonce, the server's receipt time).
Claim = tuple[str, str, datetime]


class NonceStore(Protocol):
    """Remembers signature nonces per AccessKey (implementations: ``imprint.store.nonces``).

    A claim is granted (True) the first time a nonce is seen and refused (False) on a replay.
    ``seen_at`` is the server's receipt time; an implementation must remember a nonce for at least
    ``NONCE_RETENTION`` after it, and may forget it afterwards (the timestamp check rejects such old
    requests anyway). Within one ``claim_many`` a repeated nonce is granted to the first only.
    """

    def claim(self, access_key_id: str, nonce: str, seen_at: datetime) -> bool: ...

    def claim_many(self, claims: Sequence[Claim]) -> list[bool]:
        """Several claims in one transaction or round trip; waits for the store if it is busy."""
        ...

    def try_claim_many(self, claims: Sequence[Claim]) -> list[bool] | None:
        """``claim_many``, or None at once, having claimed nothing, when waiting would be needed
        (another process holds the store's lock). Stores that never wait answer like ``claim_many``."""
        ...

    def close(self) -> None: ...
