"""Image responses: raw PNG or Base64 text, with a strong ETag (the content never changes)."""

from __future__ import annotations

import base64

from starlette.responses import Response

from imprint.service.domain import ImageContent
from imprint.service.errors import InvalidParameter

CACHE_CONTROL = "private, max-age=31536000, immutable"


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


def image_response(image: ImageContent, fmt: str | None, *, if_none_match: str | None,
                   request_id: str) -> Response:
    sha = image.asset.sha256
    etag = f'"{sha}-b64"' if fmt == "base64" else f'"{sha}"'
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL, "x-acs-request-id": request_id}
    if _matches(if_none_match, etag):
        return Response(status_code=304, headers=headers)
    if fmt == "base64":
        return Response(base64.b64encode(image.data), media_type="text/plain; charset=utf-8", headers=headers)
    return Response(image.data, media_type="image/png", headers=headers)
