"""ASGI middleware in front of everything: request metrics by operation, and the mock-mode header."""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from imprint import metrics
from imprint.api.operations import BY_PATH

MOCK_HEADER = (b"x-imprint-mock", b"true")
# Unsigned paths get their own label; everything else unknown shares one, so a scanner probing random
# paths cannot grow the metric's label set without bound.
_OWN_LABEL = ("/metrics", "/openapi.json", "/reference")


def operation_label(path: str) -> str:
    op = BY_PATH.get(path)
    if op is not None:
        return op.action
    if path.startswith("/admin/"):
        return "admin"
    return path if path in _OWN_LABEL else "unknown"


class Observe:
    def __init__(self, app: ASGIApp, *, mock: bool = False) -> None:
        self.app = app
        self.mock = mock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client sees if the app fails before answering

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                if self.mock:
                    message = {**message, "headers": [*message.get("headers", []), MOCK_HEADER]}
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            metrics.observe_request(operation_label(scope["path"]), status, time.perf_counter() - started)
