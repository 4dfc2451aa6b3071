"""Temporary credentials, STS style: an AccessKey pair plus a security token, with an expiry and an
optional inline policy that narrows what the user's own policies allow.

They are rows of ``access_keys`` like any key, so the verifier finds them the same way and checks
the token and expiry it is given (``AccessKey.security_token``/``expires_at``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from imprint.service import ids
from imprint.service.domain import TemporaryCredentials
from imprint.service.errors import InvalidParameter
from imprint.service.policies import parse_document
from imprint.service.users import require_user
from imprint.store.rows import AccessKeyRow
from imprint.store.sealing import secret_binding, token_binding
from imprint.store.secret_box import SecretBox

# STS's own bounds: 15 minutes to 12 hours (the latter being a role's longest session).
MIN_DURATION_S, MAX_DURATION_S, DEFAULT_DURATION_S = 900, 43200, 3600
# Expired keys are kept a day so that late callers hear "expired" rather than "no such key".
KEEP_EXPIRED = timedelta(days=1)


def issue(session: Session, *, box: SecretBox, user_id: str, now: datetime,
          duration_s: int = DEFAULT_DURATION_S, policy: str | Mapping[str, Any] | None = None
          ) -> TemporaryCredentials:
    user = require_user(session, user_id)
    if not MIN_DURATION_S <= duration_s <= MAX_DURATION_S:
        raise InvalidParameter("durationSeconds", f"must be between {MIN_DURATION_S} and {MAX_DURATION_S}, "
                                                  f"got {duration_s}")
    session_policy = None if policy is None else json.dumps(parse_document(policy), ensure_ascii=False)
    session.execute(delete(AccessKeyRow).where(
        AccessKeyRow.user_id == user_id, AccessKeyRow.expires_at.is_not(None),
        AccessKeyRow.expires_at < now - KEEP_EXPIRED))
    key_id, secret, token = ids.temporary_access_key_id(), ids.temporary_secret(), ids.security_token()
    expires_at = now + timedelta(seconds=duration_s)
    session.add(AccessKeyRow(
        access_key_id=key_id, secret=box.seal(secret, bound_to=secret_binding(key_id)),
        account_id=user.account_id, user_id=user_id, active=True, created_at=now,
        security_token=box.seal(token, bound_to=token_binding(key_id)), expires_at=expires_at,
        session_policy=session_policy))
    session.flush()
    return TemporaryCredentials(key_id, secret, token, expires_at, user.account_id, user_id)
