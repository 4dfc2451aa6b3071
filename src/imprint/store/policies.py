"""The policies attached to a RAM user, for the authorizer, with a short TTL cache like the keys."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from imprint.auth.system_policies import CUSTOM, SYSTEM, SYSTEM_POLICIES
from imprint.store.rows import PolicyAttachmentRow, PolicyRow
from imprint.store.ttl_cache import TtlCache

Documents = tuple[Mapping[str, Any], ...]


def attached_documents(session: Session, *, account_id: str, user_id: str) -> Documents:
    """Two indexed reads whatever the number of policies; the account filter is belt and braces."""
    attached = session.execute(select(PolicyAttachmentRow.policy_type, PolicyAttachmentRow.policy_name).where(
        PolicyAttachmentRow.user_id == user_id, PolicyAttachmentRow.account_id == account_id)).all()
    documents: list[Mapping[str, Any]] = [SYSTEM_POLICIES[name] for kind, name in attached
                                          if kind == SYSTEM and name in SYSTEM_POLICIES]
    custom = [name for kind, name in attached if kind == CUSTOM]
    if custom:
        rows = session.scalars(select(PolicyRow.document).where(
            PolicyRow.account_id == account_id, PolicyRow.name.in_(custom))).all()
        documents.extend(json.loads(text) for text in rows)
    return tuple(documents)


class SqlPolicySource:
    def __init__(self, sessions: sessionmaker[Session], *, ttl: float = 2.0) -> None:
        self._sessions = sessions
        self._cache: TtlCache[Documents] = TtlCache(ttl)

    def policies_for(self, account_id: str, user_id: str) -> Sequence[Mapping[str, Any]]:
        return self._cache.get((account_id, user_id), lambda: self._load(account_id, user_id))

    def _load(self, account_id: str, user_id: str) -> Documents:
        with self._sessions() as session:
            return attached_documents(session, account_id=account_id, user_id=user_id)
