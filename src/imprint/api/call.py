"""One API call as a handler sees it: the caller's tenant, parameters, session and services."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session
from starlette.responses import Response

from imprint.api.params import Params
from imprint.api.services import Services
from imprint.auth.principal import Principal


@dataclass(frozen=True)
class Ok:
    """A successful JSON result; the dispatcher wraps it in the envelope."""

    data: Any
    notice: tuple[str, str] | None = None


Reply = Ok | Response


class NeedsDatabase(BaseException):
    """Raised by a memory-only call at its first use of the database. A BaseException, so that no
    handler's ``except Exception`` can swallow it; the dispatcher runs the call again on a thread."""


@dataclass
class Call:
    principal: Principal
    params: Params
    services: Services
    request_id: str
    if_none_match: str | None
    now: datetime
    # Served on the event loop: the call may use the caches but not the database.
    memory_only: bool = False
    # The raw request body, for operations whose body is their payload (Operation.raw_body).
    body: bytes = b""
    after_commit: list[tuple[str, int]] = field(default_factory=list)
    _session: Session | None = field(default=None, init=False, repr=False)

    @property
    def session(self) -> Session:
        return self.open_session()

    def open_session(self) -> Session:
        """The call's session, opened on first use: an image fetch the asset cache answers never
        needs one (pass this method, not ``session``, where it may not be needed)."""
        if self._session is None:
            if self.memory_only:
                raise NeedsDatabase()
            self._session = self.services.sessions()
        return self._session

    def commit(self) -> None:
        # A read served from the caches never touched the database; committing would still begin
        # and end an empty transaction.
        if self._session is not None and self._session.in_transaction():
            self._session.commit()

    def close(self) -> None:
        """Closes the session if one was opened (rolling back what was not committed)."""
        if self._session is not None:
            self._session.close()

    @property
    def account_id(self) -> str:
        return self.principal.account_id

    @property
    def user_id(self) -> str | None:
        return self.principal.user_id or self.principal.account_id

    def enqueue(self, kind: str, job_id: int) -> None:
        """Queued only once the transaction commits, so a worker never looks for a row not yet there."""
        self.after_commit.append((kind, job_id))
