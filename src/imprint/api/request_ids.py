"""Request ids: UUID-shaped, unique, and cheap enough to make one per request.

A random 80-bit prefix per process and a counter in the last 48 bits: ids never repeat within a
process, and across processes (API workers, restarts) only if two prefixes collide. uuid4() costs a
getrandom() call per request; this costs a counter increment. The ids only correlate logs and
replies; nothing relies on them being unpredictable.
"""

from __future__ import annotations

import itertools
import os
import secrets

_prefix = ""
_counter = itertools.count()


def _reseed() -> None:
    global _prefix, _counter
    digits = secrets.token_hex(10).upper()
    _prefix = f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-"
    _counter = itertools.count()


def new_request_id() -> str:
    # next() on itertools.count is atomic under the GIL, so threads never share a value.
    return f"{_prefix}{next(_counter) & 0xFFFFFFFFFFFF:012X}"


_reseed()
# A forked child would otherwise hand out its parent's ids again.
os.register_at_fork(after_in_child=_reseed)
