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
from typing import TYPE_CHECKING

from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from imprint.api import envelope
from imprint.api.auth_dependency import admit, authenticate
from imprint.api.body import read_asgi_body
from imprint.api.error_map import to_wire
from imprint.api.head import Head
from imprint.api.operations import OPERATIONS, Operation
from imprint.api.request_ids import new_request_id
from imprint.auth.credentials import NonceStore
from imprint.auth.nonce_batch import AlreadyClaimed, ClaimBatcher, PendingClaim
from imprint.auth.principal import Principal

if TYPE_CHECKING:  # imprint.api.app imports this module
    from imprint.api.app import Dispatcher

# Only the method an inline operation is called with takes the shortcut; a wrong method or any
# other path goes through the router, so its answer (405/404 envelopes) is unchanged.
_INLINE: dict[tuple[str, str], Operation] = {(op.method, op.path): op for op in OPERATIONS if op.inline}


class FastPath:
    """ASGI middleware: inline operations straight to the dispatcher, everything else to ``app``."""

    def __init__(self, app: ASGIApp, *, dispatcher: Dispatcher) -> None:
        self.app = app
        self.dispatcher = dispatcher
        self.services = dispatcher.services
        self.claims = ClaimBatcher(lambda: self.services.nonces)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        op = _INLINE.get((scope["method"], scope["path"])) if scope["type"] == "http" else None
        if op is None:
            await self.app(scope, receive, send)
            return
        response = await self.handle(op, scope, receive)
        await response(scope, receive, send)

    async def handle(self, op: Operation, scope: Scope, receive: Receive) -> Response:
        # The same steps as Dispatcher.handle + _execute for an inline operation.
        services = self.services
        request_id = new_request_id()
        try:
            head = Head.of(scope)
            limit = services.settings.max_body_bytes
            body = await read_asgi_body(receive, head.first("content-length"), limit)
            now = services.clock()
            principal = await self._authenticate(op, head, body, now)
            admit(services, principal, op, head, now)
            return self.dispatcher.respond(op, head, body, request_id, principal, now)
        except Exception as exc:  # every failure leaves as an envelope, never as a traceback
            return envelope.error(to_wire(exc), request_id)

    async def _authenticate(self, op: Operation, head: Head, body: bytes, now: datetime) -> Principal:
        def verify(nonces: NonceStore) -> Principal:
            return authenticate(self.services, head, method=op.method, body=body, action=op.action, now=now,
                                nonces=nonces)

        pending = PendingClaim()
        principal = verify(pending)
        if pending.claim_args is not None and not await self.claims.claim(*pending.claim_args):
            # A replay. Verifying again against a store that knows the nonce raises exactly the error
            # the verifier gives a replay (only replays pay for this second verification).
            verify(AlreadyClaimed())
            raise RuntimeError("a replayed nonce passed verification")  # fails closed: a 500
        return principal
