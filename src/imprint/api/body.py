"""Reading a request body under a size cap, whether or not the client declared its length."""

from __future__ import annotations

from collections.abc import AsyncIterator

from starlette.requests import ClientDisconnect, Request
from starlette.types import Message, Receive

from imprint.api.error_map import BODY_TOO_LARGE, RouteError


def _too_large(limit: int) -> RouteError:
    return RouteError(413, BODY_TOO_LARGE, f"The request body exceeds the limit of {limit} bytes.")


def _check_declared(declared: str, limit: int) -> None:
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)


async def _capped(chunks: AsyncIterator[bytes], limit: int) -> bytes:
    # A chunked body declares nothing, so the cap is also enforced while reading: memory use stays
    # bounded by the limit whatever the client sends.
    parts, size = [], 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        parts.append(chunk)
    return b"".join(parts)


async def read_body(request: Request, limit: int) -> bytes:
    _check_declared(request.headers.get("content-length", ""), limit)
    return await _capped(request.stream(), limit)


async def read_asgi_body(receive: Receive, declared_length: str | None, limit: int) -> bytes:
    """``read_body`` for raw ASGI: the same cap, the same ``ClientDisconnect``, no Request object."""
    _check_declared(declared_length or "", limit)
    message = await receive()
    if message["type"] == "http.request" and not message.get("more_body", False):
        # The usual case, a body (mostly empty) that arrived in one message.
        body: bytes = message.get("body", b"")
        if len(body) > limit:
            raise _too_large(limit)
        return body
    return await _capped(_stream(receive, message), limit)


async def _stream(receive: Receive, message: Message) -> AsyncIterator[bytes]:
    # What starlette.Request.stream() does, starting from a message already received.
    while True:
        if message["type"] == "http.request":
            chunk = message.get("body", b"")
            if chunk:
                yield chunk
            if not message.get("more_body", False):
                return
        elif message["type"] == "http.disconnect":
            raise ClientDisconnect()
        message = await receive()
