"""The caller's image URLs as the wire sees them: credentials in a URL are refused on the way in and
masked on the way out (rows written before the refusal may hold them)."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from imprint.api.params import Params
from imprint.service.errors import InvalidParameter


def _userinfo(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:  # not a URL at all: the fetch refuses it with its own reason
        return False
    return "@" in parts.netloc


def image_urls(p: Params, *, max_items: int) -> list[str]:
    urls = p.text_list("imageUrl", max_items=max_items)
    for i, url in enumerate(urls):
        if _userinfo(url):
            raise InvalidParameter("imageUrl", f"entry {i} carries a user name or password (user:password@); "
                                               "send a URL without credentials, e.g. a pre-signed one")
    return urls


def redacted(url: str) -> str:
    """``url`` with any user name and password replaced by ``***``."""
    if not _userinfo(url):
        return url
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"***@{host}"))
