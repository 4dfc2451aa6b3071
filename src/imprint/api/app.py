"""The ASGI app: one route that looks the operation up in the table, authenticates, runs the
handler inside a transaction, and enqueues jobs only after the commit."""

from __future__ import annotations

import logging
from datetime import datetime

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from imprint.api import envelope
from imprint.api.admin.routes import admin_mount
from imprint.api.auth_dependency import admit, authenticate
from imprint.api.body import read_asgi_body
from imprint.api.call import Call, NeedsDatabase, Ok
from imprint.api.error_map import UNKNOWN, RouteError, to_wire
from imprint.api.head import Head
from imprint.api.health import health_endpoint
from imprint.api.observe import Observe
from imprint.api.operations import BY_PATH, Operation
from imprint.api.params import Params
from imprint.api.request_ids import new_request_id
from imprint.api.services import Services
from imprint.api.unsigned import unsigned_routes
from imprint.auth.principal import Principal
from imprint.auth.verifier import replayed
from imprint.console.routes import console_routes
from imprint.queue.base import QueueUnavailable
from imprint.service import runs
from imprint.store.nonces.batch import ClaimBatcher

log = logging.getLogger(__name__)


class Dispatcher:
    """The one way every operation is served: route, read the body, verify the signature, claim its
    nonce (awaited with the other requests in flight, one store write for all of them), then the
    rate limit, the RAM check and the handler (on a worker thread whenever it needs the database)."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.claims = ClaimBatcher(lambda: self.services.nonces)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # A raw ASGI endpoint: Starlette hands it the request as is, with no Request object made.
        response = await self.handle(scope, receive)
        await response(scope, receive, send)

    async def handle(self, scope: Scope, receive: Receive) -> Response:
        request_id = new_request_id()
        try:
            op = self._route(scope)
            head = Head.of(scope)
            settings = self.services.settings
            # An upload's body is the photo itself, as large as one training image may be.
            limit = settings.max_image_bytes if op.raw_body else settings.max_body_bytes
            body = await read_asgi_body(receive, head.first("content-length"), limit)
            now = self.services.clock()
            verified = authenticate(self.services, head, body=body, action=op.action, now=now)
            if verified.claim is not None and not await self.claims.claim(verified.claim):
                raise replayed()
            principal = verified.principal
            if op.method == "GET":
                # A read is first tried on the event loop from memory (the caches of keys, policies and
                # images): the thread hop cost as much as the rest of a cached image fetch. The first
                # time it needs the database (Call.open_session) it starts over on a worker thread; a
                # GET changes nothing before that, so starting over is safe.
                admit(self.services, principal, op, head, now)
                try:
                    return self.respond(op, head, body, request_id, principal, now, memory_only=True)
                except NeedsDatabase:
                    return await run_in_threadpool(self.respond, op, head, body, request_id, principal, now)
            return await run_in_threadpool(self._execute, op, head, body, request_id, principal, now)
        except Exception as exc:  # every failure leaves as an envelope, never as a traceback
            return envelope.error(to_wire(exc), request_id)

    @staticmethod
    def _route(scope: Scope) -> Operation:
        path, method = scope["path"], scope["method"]
        op = BY_PATH.get(path)
        if op is None:
            raise RouteError(404, "InvalidAction.NotFound", f"Specified api is not found: {path}")
        if method != op.method:
            raise RouteError(405, "UnsupportedHTTPMethod", f"{op.action} must be called with {op.method}")
        return op

    def _execute(self, op: Operation, head: Head, body: bytes, request_id: str, principal: Principal,
                 now: datetime) -> Response:
        admit(self.services, principal, op, head, now)
        return self.respond(op, head, body, request_id, principal, now)

    def respond(self, op: Operation, head: Head, body: bytes, request_id: str, principal: Principal,
                now: datetime, *, memory_only: bool = False) -> Response:
        """Runs a call that passed the auth steps: the handler in a transaction, its jobs after the commit."""
        services = self.services
        params = Params.from_wire(head.scope.get("query_string", b""), body, head.first("content-type") or "",
                                  has_body=op.method == "POST" and not op.raw_body)
        call = Call(principal=principal, params=params, services=services, request_id=request_id,
                    if_none_match=head.first("if-none-match"), now=now, memory_only=memory_only,
                    body=body if op.raw_body else b"")
        try:
            reply = op.handler(call)
            call.commit()
        finally:
            call.close()
        self._hand_over(call.after_commit)
        if isinstance(reply, Ok):
            return envelope.success(reply.data, request_id, notice=reply.notice)
        return reply

    def _hand_over(self, jobs: list[tuple[str, int]]) -> None:
        """Enqueues the committed jobs; if the queue is unreachable, the jobs not handed over are
        withdrawn and the caller gets a retryable error instead of a job that would never run."""
        for done, (kind, job_id) in enumerate(jobs):
            try:
                self.services.queue.enqueue(kind, job_id)
            except QueueUnavailable:
                with self.services.sessions.begin() as session:
                    for left_kind, left_id in jobs[done:]:
                        runs.withdraw_unqueued(session, kind=left_kind, job_id=left_id)
                raise


async def _framework_error(request: Request, exc: Exception) -> Response:
    # Starlette's own 404/405 (admin paths, odd methods) leave as envelopes like every other error.
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    code = {404: "InvalidAction.NotFound", 405: "UnsupportedHTTPMethod"}.get(status, "UNKNOWN_ERROR")
    message = f"{request.method} {request.url.path} is not supported" if status < 500 else UNKNOWN[2]
    return envelope.failure(status, code, message, new_request_id())


class ImprintApp:
    """The ASGI app. A path of the operation table goes to the dispatcher; every other path (the
    console, admin, health, OpenAPI, metrics, and unknown paths) to Starlette's router, whose
    catch-all route hands what it does not know to the same dispatcher for the API's 404. Both
    behind the metrics middleware. The API's paths skip the router's route matching and its
    error-handling layers: the dispatcher answers every failure as an envelope itself, and those
    layers were a fifth of the CPU of a cached image read (docs/performance.md)."""

    def __init__(self, dispatcher: Dispatcher, pages: Starlette, *, mock: bool) -> None:
        self.dispatcher = dispatcher
        self.pages = pages
        self.state = pages.state
        self._observed = Observe(self._route, mock=mock)

    async def _route(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] in BY_PATH:
            await self.dispatcher(scope, receive, send)
        else:
            await self.pages(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._observed(scope, receive, send)


def create_app(services: Services) -> ImprintApp:
    dispatcher = Dispatcher(services)
    # One catch-all route: the operation table, not the framework, decides what exists.
    methods = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]
    pages = Starlette(routes=[admin_mount(services), *unsigned_routes(services), *console_routes(),
                              Route("/health", health_endpoint(services), methods=["GET", "HEAD"]),
                              Route("/{path:path}", dispatcher, methods=methods)],
                      exception_handlers={HTTPException: _framework_error})
    pages.state.services = services
    return ImprintApp(dispatcher, pages, mock=services.settings.mock)
