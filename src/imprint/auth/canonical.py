"""Canonicalisation helpers shared by the ACS3 and ROA verifiers.

Both SDKs put the query on the wire form-encoded (space as ``+``) with escaping that differs
between the sync and async clients, while they sign the decoded values (ROA) or the decoded values
re-encoded with strict RFC 3986 rules (ACS3). So the raw query is always decoded first and never
used as-is.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from functools import lru_cache
from urllib.parse import quote, unquote_to_bytes

from imprint.auth.errors import INCOMPLETE_SIGNATURE, AuthError

_UNRESERVED = re.compile(r"[A-Za-z0-9._~-]*")


def split_target(raw_target: str) -> tuple[str, str]:
    """Split a raw request target into (path, raw query); the fragment is never sent, so ignore it."""
    target = raw_target.split("#", 1)[0]
    path, _, query = target.partition("?")
    return path or "/", query


def form_decode(component: str) -> str:
    """Decode one name or value as form data: ``+`` is a space, then ``%XX`` escapes, then UTF-8."""
    if component.isascii() and "%" not in component and "+" not in component:
        return component  # nothing to decode; the common case for SDK ids
    try:
        return unquote_to_bytes(component.replace("+", " ")).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise AuthError(INCOMPLETE_SIGNATURE, "The query string is not valid UTF-8.") from exc


def parse_query(raw_query: str) -> list[tuple[str, str]]:
    """Decoded (name, value) pairs in wire order; empty values are kept, empty pieces dropped."""
    pairs = []
    for piece in raw_query.split("&"):
        if not piece:
            continue
        name, _, value = piece.partition("=")
        pairs.append((form_decode(name), form_decode(value)))
    return pairs


def sorted_params(params: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    # Code-point order on str equals byte order on UTF-8, which is what both SDKs sort by; the SDKs
    # never repeat a name, so the value only breaks ties for hand-made requests.
    return sorted(params)


def rfc3986_encode(text: str) -> str:
    """Strict RFC 3986 escaping: only ``A-Z a-z 0-9 - _ . ~`` stay literal, uppercase hex."""
    if _UNRESERVED.fullmatch(text):
        return text  # quote() is several times slower, and ids and actions never need escaping
    return quote(text, safe="", encoding="utf-8")


# Queries longer than this are canonicalised afresh each time, so the cache below stays small
# whatever clients send (an image fetch's query is about 100 characters).
_CACHED_QUERY_LENGTH = 1024


def canonical_query(raw_query: str) -> str:
    """The ACS3 canonical query string: decoded, sorted, re-encoded with strict RFC 3986 rules."""
    if len(raw_query) <= _CACHED_QUERY_LENGTH:
        return _canonical_query_cached(raw_query)
    return _canonical_query(raw_query)


def _canonical_query(raw_query: str) -> str:
    params = sorted_params(parse_query(raw_query))
    return "&".join(f"{rfc3986_encode(name)}={rfc3986_encode(value)}" for name, value in params)


# A pure function of the query: clients fetch the same image with the same query again and again,
# and decoding, sorting and re-encoding it was a tenth of a signed image fetch. Errors (invalid
# UTF-8) are raised, never cached.
_canonical_query_cached = lru_cache(maxsize=1024)(_canonical_query)


# Clients send the same dozen header names on every request; each is decoded and lowercased once.
# Bounded, so that a client inventing names cannot grow it.
_DECODED_NAMES: dict[bytes, str] = {}
_MAX_DECODED_NAMES = 512


class HeaderMap:
    """Case-insensitive, order-preserving view of the request's headers as a multimap."""

    __slots__ = ("_by_name", "_items")

    def __init__(self, headers: Sequence[tuple[str, str]]) -> None:
        self._items = [(name.lower(), value) for name, value in headers]
        # Indexed once: a verifier asks for a dozen names per request, and scanning the list for each
        # was a visible share of the cost of a signed image fetch.
        by_name: dict[str, list[str]] = {}
        for key, value in self._items:
            values = by_name.get(key)
            if values is None:
                by_name[key] = [value]
            else:
                values.append(value)
        self._by_name = by_name

    @classmethod
    def from_asgi(cls, raw: Iterable[tuple[bytes, bytes]]) -> HeaderMap:
        """From an ASGI scope's raw headers, decoded as latin-1 (as Starlette does: every byte is one
        character), in one pass over them."""
        self = cls.__new__(cls)
        items: list[tuple[str, str]] = []
        by_name: dict[str, list[str]] = {}
        names = _DECODED_NAMES
        for raw_name, raw_value in raw:
            key = names.get(raw_name)
            if key is None:
                key = raw_name.decode("latin-1").lower()
                if len(names) < _MAX_DECODED_NAMES:
                    names[raw_name] = key
            value = raw_value.decode("latin-1")
            items.append((key, value))
            values = by_name.get(key)
            if values is None:
                by_name[key] = [value]
            else:
                values.append(value)
        self._items, self._by_name = items, by_name
        return self

    def values(self, name: str) -> Sequence[str]:
        """Like ``get_all``, without copying: the caller must not change what it gets."""
        return self._by_name.get(name.lower(), ())

    def missing(self, names: Sequence[str]) -> list[str]:
        """The lowercase ``names`` that are not headers of the request, in the given order."""
        by_name = self._by_name
        return [name for name in names if name not in by_name]

    def get_all(self, name: str) -> list[str]:
        return list(self._by_name.get(name.lower(), ()))

    def get(self, name: str) -> str | None:
        """The only value of a header, None when absent; a repeated header is joined with ``,``."""
        values = self._by_name.get(name.lower())
        if not values:
            return None
        return values[0] if len(values) == 1 else ",".join(values)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._by_name

    def names(self) -> list[str]:
        """Distinct lowercase names in first-seen order."""
        return list(self._by_name)

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._items)
