"""A raw-ASGI shortcut for the image reads, ahead of Starlette's exception middleware and router.

Image fetching is the one operation clients call in bulk, and on it the framework's per-request
layers (exception wrappers, regex route matching, the route's request/response adapter) cost about
as much as the work itself. The shortcut only changes how a request reaches the dispatcher: it hands
it to the same ``Dispatcher.handle`` the catch-all route calls, so signature verification, the nonce
claim, throttling, the RAM check, account scoping, ETags and error envelopes are the very same code.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from imprint.api.operations import OPERATIONS

# Only the method an inline operation is called with takes the shortcut; a wrong method or any
# other path goes through the router, so its answer (405/404 envelopes) is unchanged.
_INLINE: frozenset[tuple[str, str]] = frozenset((op.method, op.path) for op in OPERATIONS if op.inline)


class FastPath:
    """ASGI middleware: inline operations straight to the dispatcher, everything else to ``app``."""

    def __init__(self, app: ASGIApp, *, dispatcher: object) -> None:
        # Typed loosely to avoid an import cycle with imprint.api.app; it is a ``Dispatcher``.
        self.app = app
        self.handle = dispatcher.handle  # type: ignore[attr-defined]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (scope["method"], scope["path"]) in _INLINE:
            response = await self.handle(Request(scope, receive))
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
