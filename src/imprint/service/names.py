"""Name rules for accounts, RAM users and policies (RAM's own character sets)."""

from __future__ import annotations

import re

from imprint.service.errors import InvalidParameter

_USER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}", re.ASCII)
_POLICY = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,127}", re.ASCII)


def account_name(value: str) -> str:
    value = value.strip()
    if not value or len(value) > 128 or not value.isprintable():
        raise InvalidParameter("name", "an account name is 1 to 128 printable characters")
    return value


def user_name(value: str) -> str:
    if not _USER.fullmatch(value):
        raise InvalidParameter("name", "a user name is 1 to 64 of A-Z a-z 0-9 . _ @ - (not starting with a "
                                       "symbol)")
    return value


def policy_name(value: str) -> str:
    if not _POLICY.fullmatch(value):
        raise InvalidParameter("policyName", "a policy name is 1 to 128 of A-Z a-z 0-9 - (not starting "
                                             "with -)")
    return value
