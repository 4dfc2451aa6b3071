"""Request parameters from the query string, a JSON body, or the old SDK's form field `body`,
with the validation every operation shares. Messages name the parameter and what is wrong."""

from __future__ import annotations

import json
import math
from typing import Any
from urllib.parse import parse_qsl

from imprint.service.errors import InvalidParameter, MalformedBody, MissingParameter

FORM = "application/x-www-form-urlencoded"


def parse_body(body: bytes, content_type: str) -> dict[str, Any]:
    if not body.strip():
        return {}
    media = content_type.split(";", 1)[0].strip().lower()
    if media == FORM:
        form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        if "body" not in form:
            raise MalformedBody("a form-encoded request must carry its JSON in the field 'body'")
        text = form["body"]
    else:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedBody("the request body is not valid UTF-8") from None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MalformedBody(f"the request body is not valid JSON: {exc.msg} at position {exc.pos}") from None
    except RecursionError:
        raise MalformedBody("the request body is nested too deeply") from None
    except ValueError:  # an integer literal past Python's digit limit
        raise MalformedBody("the request body holds a number too long to read") from None
    if not isinstance(value, dict):
        raise MalformedBody("the request body must be a JSON object")
    return value


def parse_query(raw_query: bytes) -> dict[str, str]:
    """The query as ``dict(parse_qsl(..., keep_blank_values=True))`` reads it (the last repeat wins)."""
    text = raw_query.decode("utf-8", "replace")
    if not text.isascii() or "%" in text or "+" in text:
        return dict(parse_qsl(text, keep_blank_values=True))
    # Nothing to unquote (SDK ids): parse_qsl's splitting without its per-field unquote() calls.
    query: dict[str, str] = {}
    for piece in text.split("&"):
        if piece:
            name, _, value = piece.partition("=")
            query[name] = value
    return query


class Params:
    def __init__(self, query: dict[str, str], body: dict[str, Any]) -> None:
        self._query, self._body = query, body

    @classmethod
    def from_wire(cls, raw_query: bytes, body: bytes, content_type: str, *, has_body: bool) -> Params:
        return cls(parse_query(raw_query), parse_body(body, content_type) if has_body else {})

    def _raw(self, name: str) -> Any:
        return self._body[name] if name in self._body else self._query.get(name)

    def text(self, name: str, *, max_length: int = 1000) -> str:
        value = self._raw(name)
        if value is None or value == "":
            raise MissingParameter(name)
        if not isinstance(value, str):
            raise InvalidParameter(name, f"expected a string, got {_json_type(value)}")
        if len(value) > max_length:
            raise InvalidParameter(name, f"longer than {max_length} characters")
        if "\x00" in value:  # PostgreSQL cannot store or even compare it; no name or prompt needs it
            raise InvalidParameter(name, "must not contain NUL characters")
        if not _is_unicode(value):
            raise InvalidParameter(name, _SURROGATE)
        return value

    def opt_text(self, name: str, *, max_length: int = 1000) -> str | None:
        value = self._raw(name)
        return None if value in (None, "") else self.text(name, max_length=max_length)

    def text_list(self, name: str, *, max_items: int, max_length: int = 2048) -> list[str]:
        value = self._raw(name)
        if value is None:
            raise MissingParameter(name)
        if not isinstance(value, list):
            raise InvalidParameter(name, f"expected an array of strings, got {_json_type(value)}")
        if not value:
            raise InvalidParameter(name, "must contain at least one entry")
        if len(value) > max_items:
            raise InvalidParameter(name, f"at most {max_items} entries are allowed, got {len(value)}")
        for i, item in enumerate(value):
            if not isinstance(item, str) or not item.strip():
                raise InvalidParameter(name, f"entry {i} must be a non-empty string")
            if len(item) > max_length:
                raise InvalidParameter(name, f"entry {i} is longer than {max_length} characters")
            if "\x00" in item:
                raise InvalidParameter(name, f"entry {i} must not contain NUL characters")
            if not _is_unicode(item):
                raise InvalidParameter(name, f"entry {i} {_SURROGATE}")
        return list(value)

    def opt_int(self, name: str, *, lo: int, hi: int) -> int | None:
        value = self._raw(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidParameter(name, f"expected an integer, got {_json_type(value)}")
        if not lo <= value <= hi:
            raise InvalidParameter(name, f"must be between {lo} and {hi}, got {value}")
        return value

    def opt_number(self, name: str, *, lo: float, hi: float) -> float | None:
        value = self._raw(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise InvalidParameter(name, f"expected a number, got {_json_type(value)}")
        if not lo <= value <= hi:
            raise InvalidParameter(name, f"must be between {lo} and {hi}, got {value}")
        return float(value)


# JSON's \ud800 escapes decode to lone UTF-16 surrogates, which are not Unicode text: no database,
# log or reply can encode them as UTF-8.
_SURROGATE = "is not valid Unicode text (it holds a lone UTF-16 surrogate such as \\ud800)"


def _is_unicode(value: str) -> bool:
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return "null"
