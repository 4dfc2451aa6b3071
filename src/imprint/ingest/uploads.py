"""Photos uploaded to imprint itself, named by `imprint://upload/<id>` URLs.

A training job may name such a URL beside ordinary http(s) ones. It is never fetched over the
network: the worker reads it from the blob store through a reader bound to the job's own account, so
the URL carries no tenant, cannot be turned into a request to the server's own address (which the
SSRF rules rightly refuse), and names nothing in another account.
"""

from __future__ import annotations

import re
from collections.abc import Callable

SCHEME = "imprint"
PREFIX = f"{SCHEME}://upload/"
# uuid4().hex: unguessable, and plain enough to sit in a blob key as it is.
_ID = re.compile(r"[0-9a-f]{32}")

UploadReader = Callable[[str], bytes]
"""Reads an upload's bytes by id for one account; raises KeyError when that account has no such upload."""


class NotAnUpload(ValueError):
    """An `imprint://` URL that does not name an upload the way `upload_url` writes it."""


def upload_url(upload_id: str) -> str:
    return PREFIX + upload_id


def is_upload_url(url: str) -> bool:
    return url[: len(SCHEME) + 3].lower() == SCHEME + "://"


def upload_id_of(url: str) -> str:
    """The id inside an `imprint://upload/<id>` URL; NotAnUpload for any other imprint:// URL."""
    if not url.startswith(PREFIX) or not _ID.fullmatch(url[len(PREFIX):]):
        raise NotAnUpload(f"{url[:80]!r} is not an upload URL; they look like {PREFIX}<32 hex digits>")
    return url[len(PREFIX):]
