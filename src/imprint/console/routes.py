"""Serves the console at /console through Starlette's StaticFiles, with headers that keep the page
to its own assets: whatever a model name or prompt holds, no script from elsewhere may run."""

from __future__ import annotations

from pathlib import Path

from starlette.responses import RedirectResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

ASSETS = Path(__file__).parent / "static"
PATH = "/console"

# Blob URLs carry the images the console fetched with signed requests.
SECURITY_HEADERS = {
    # form-action 'none': should the script ever fail, a form must not submit the secret in a URL.
    "content-security-policy": "; ".join((
        "default-src 'self'", "img-src 'self' blob:", "style-src 'self'", "script-src 'self'",
        "connect-src 'self'", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'",
        "form-action 'none'")),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    # Assets change with the package; revalidating costs a 304.
    "cache-control": "no-cache",
}


def with_headers(app: ASGIApp, headers: dict[str, str]) -> ASGIApp:
    raw = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()]

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name for name, _ in raw}
                kept = [h for h in message.get("headers", []) if h[0].lower() not in names]
                message["headers"] = kept + raw
            await send(message)

        await app(scope, receive, send_with_headers)

    return wrapped


async def _to_index(request: object) -> RedirectResponse:
    return RedirectResponse(PATH + "/", status_code=308)


def console_routes() -> list[BaseRoute]:
    """/console redirects to /console/, which serves index.html; everything else is an asset."""
    assets = StaticFiles(directory=ASSETS, html=True)
    return [Route(PATH, _to_index, methods=["GET", "HEAD"]),
            Mount(PATH, app=with_headers(assets, SECURITY_HEADERS), name="console")]
