"""Reading a request body under a size cap, whether or not the client declared its length."""

from __future__ import annotations

from starlette.requests import Request

from imprint.api.error_map import BODY_TOO_LARGE, RouteError


def _too_large(limit: int) -> RouteError:
    return RouteError(413, BODY_TOO_LARGE, f"The request body exceeds the limit of {limit} bytes.")


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    # A chunked body declares nothing, so the cap is also enforced while reading: memory use stays
    # bounded by the limit whatever the client sends.
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)
