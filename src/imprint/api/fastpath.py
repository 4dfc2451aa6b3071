"""A raw-ASGI shortcut for the image reads, ahead of Starlette's exception middleware and router.

Image fetching is the one operation clients call in bulk, and on it the framework's layers
(exception wrappers, regex route matching, the route's request/response adapter, the Request
object) cost about as much as the work itself. The shortcut changes how a request reaches the
dispatcher, not what happens to it: the same ``authenticate`` verifies the signature, the same
``admit`` throttles and runs the RAM check, and the same ``Dispatcher.respond`` runs the handler
(account-scoped lookup, ETag/If-None-Match) and builds the envelope; errors go through the same
``to_wire``. Both paths read the request through the same ``Head``.

One thing differs in how, not in what: the nonce claim. The verifier records it in a
``PendingClaim`` and the claim is then awaited through the ``ClaimBatcher``, so the claims of the
requests in flight on this event loop are committed together. It is still decided right after the
signature and before anything else, exactly where the verifier makes it.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, NoReturn

from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from imprint.api import envelope
from imprint.api.auth_dependency import admit, authenticate
from imprint.api.body import read_asgi_body
from imprint.api.error_map import to_wire
from imprint.api.head import Head
from imprint.api.operations import OPERATIONS, Operation
from imprint.api.request_ids import new_request_id
from imprint.auth.nonce_batch import AlreadyClaimed, Claim, ClaimBatcher, PendingClaim
from imprint.auth.principal import Principal

if TYPE_CHECKING:  # imprint.api.app imports this module
    from imprint.api.app import Dispatcher

# Only the method an inline operation is called with takes the shortcut; a wrong method or any
# other path goes through the router, so its answer (405/404 envelopes) is unchanged.
_INLINE: dict[tuple[str, str], Operation] = {(op.method, op.path): op for op in OPERATIONS if op.inline}


class FastPath:
    """ASGI middleware: inline operations straight to the dispatcher, everything else to ``app``.

    Its steps (``operation``, ``verify``, ``replayed``, ``answer``) are synchronous so that
    ``imprint.server.inline`` can drive them from the HTTP protocol itself, without an ASGI task; the
    middleware runs the same steps with the claim awaited in between.
    """

    def __init__(self, app: ASGIApp | None, *, dispatcher: Dispatcher) -> None:
        self.app = app
        self.dispatcher = dispatcher
        self.services = dispatcher.services
        self.claims = ClaimBatcher(lambda: self.services.nonces)

    def in_front_of(self, app: ASGIApp) -> FastPath:
        """This middleware, handing what it does not take to ``app`` (Starlette's middleware factory)."""
        self.app = app
        return self

    def operation(self, scope: Scope) -> Operation | None:
        return _INLINE.get((scope["method"], scope["path"])) if scope["type"] == "http" else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        op = self.operation(scope)
        if op is None:
            assert self.app is not None, "FastPath used before in_front_of(app)"
            await self.app(scope, receive, send)
            return
        response = await self.handle(op, scope, receive)
        await response(scope, receive, send)

    async def handle(self, op: Operation, scope: Scope, receive: Receive) -> Response:
        # The same steps as Dispatcher.handle + _execute for an inline operation.
        request_id = new_request_id()
        try:
            head = Head.of(scope)
            limit = self.services.settings.max_body_bytes
            body = await read_asgi_body(receive, head.first("content-length"), limit)
            now = self.services.clock()
            principal, claim = self.verify(op, head, body, now)
            if claim is not None and not await self.claims.claim(*claim):
                self.replayed(op, head, body, now)
            return self.answer(op, head, body, request_id, principal, now)
        except Exception as exc:  # every failure leaves as an envelope, never as a traceback
            return envelope.error(to_wire(exc), request_id)

    def verify(self, op: Operation, head: Head, body: bytes, now: datetime) -> tuple[Principal, Claim | None]:
        """The signature check; the nonce claim it would make is returned, to be decided by ``claims``
        (with the claims of the other requests in flight) before anything else happens."""
        pending = PendingClaim()
        principal = authenticate(self.services, head, method=op.method, body=body, action=op.action, now=now,
                                 nonces=pending)
        return principal, pending.claim_args

    def replayed(self, op: Operation, head: Head, body: bytes, now: datetime) -> NoReturn:
        """Raises the verifier's own replay error (only replays pay for this second verification)."""
        authenticate(self.services, head, method=op.method, body=body, action=op.action, now=now,
                     nonces=AlreadyClaimed())
        raise RuntimeError("a replayed nonce passed verification")  # fails closed: a 500

    def answer(self, op: Operation, head: Head, body: bytes, request_id: str, principal: Principal,
               now: datetime) -> Response:
        """Everything after a successful claim: throttle, RAM check, then the handler."""
        admit(self.services, principal, op, head, now)
        return self.dispatcher.respond(op, head, body, request_id, principal, now)
