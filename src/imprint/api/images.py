"""Image responses: raw PNG or Base64 text, with a strong ETag (the content never changes)."""

from __future__ import annotations

import base64

from starlette.responses import Response

from imprint.service.domain import ImageContent
from imprint.service.errors import InvalidParameter

CACHE_CONTROL = "private, max-age=31536000, immutable"
_CACHE_CONTROL = CACHE_CONTROL.encode("latin-1")
_PNG_TYPE = b"image/png"
_BASE64_TYPE = b"text/plain; charset=utf-8"


def encode_format(value: str | None) -> str | None:
    # An empty value is what the SDK sends for a field set to "": treated as not set.
    if value in (None, "", "base64"):
        return value or None
    raise InvalidParameter("encodeFormat", f"only 'base64' is supported (or leave it out for raw PNG bytes), "
                                           f"got {value!r}")


def _matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    tags = [t.strip() for t in if_none_match.split(",")]
    return "*" in tags or etag in tags


class _ImageResponse(Response):
    """A Response whose raw headers are given, in the order and spelling Starlette's ``init_headers``
    would produce for ``Response(body, status, headers, media_type)``; working that out from a dict
    was a visible share of an image fetch."""

    def __init__(self, status: int, body: bytes, raw_headers: list[tuple[bytes, bytes]]) -> None:
        self.status_code = status
        self.body = body
        self.raw_headers = raw_headers
        self.background = None


def image_response(image: ImageContent, fmt: str | None, *, if_none_match: str | None,
                   request_id: str) -> Response:
    sha = image.asset.sha256
    etag = f'"{sha}-b64"' if fmt == "base64" else f'"{sha}"'
    headers = [(b"etag", etag.encode("latin-1")), (b"cache-control", _CACHE_CONTROL),
               (b"x-acs-request-id", request_id.encode("latin-1"))]
    if _matches(if_none_match, etag):
        # Starlette adds neither a length nor a type to a 304 without a media type.
        return _ImageResponse(304, b"", headers)
    if fmt == "base64":
        body, media = base64.b64encode(image.data), _BASE64_TYPE
    else:
        body, media = image.data, _PNG_TYPE
    headers += [(b"content-length", str(len(body)).encode("latin-1")), (b"content-type", media)]
    return _ImageResponse(200, body, headers)
