"""The ASGI app: one route that looks the operation up in the table, authenticates, runs the
handler inside a transaction, and enqueues jobs only after the commit."""

from __future__ import annotations

import logging
from datetime import datetime

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from imprint.api import envelope
from imprint.api.admin.routes import admin_mount
from imprint.api.auth_dependency import guard
from imprint.api.body import read_body
from imprint.api.call import Call, Ok
from imprint.api.error_map import UNKNOWN, RouteError, to_wire
from imprint.api.fastpath import FastPath
from imprint.api.head import Head
from imprint.api.health import health_endpoint
from imprint.api.observe import Observe
from imprint.api.operations import BY_PATH, Operation
from imprint.api.params import Params
from imprint.api.request_ids import new_request_id
from imprint.api.services import Services
from imprint.api.unsigned import unsigned_routes
from imprint.auth.principal import Principal
from imprint.console.routes import console_routes

log = logging.getLogger(__name__)


class Dispatcher:
    def __init__(self, services: Services) -> None:
        self.services = services

    async def handle(self, request: Request) -> Response:
        request_id = new_request_id()
        try:
            op = self._route(request)
            settings = self.services.settings
            limit = settings.max_image_bytes if op.raw_body else settings.max_body_bytes
            body = await read_body(request, limit)
            if op.inline:
                return self._execute(op, request, body, request_id)
            return await run_in_threadpool(self._execute, op, request, body, request_id)
        except Exception as exc:  # every failure leaves as an envelope, never as a traceback
            return envelope.error(to_wire(exc), request_id)

    @staticmethod
    def _route(request: Request) -> Operation:
        op = BY_PATH.get(request.url.path)
        if op is None:
            raise RouteError(404, "InvalidAction.NotFound", f"Specified api is not found: {request.url.path}")
        if request.method != op.method:
            raise RouteError(405, "UnsupportedHTTPMethod", f"{op.action} must be called with {op.method}")
        return op

    def _execute(self, op: Operation, request: Request, body: bytes, request_id: str) -> Response:
        now = self.services.clock()
        head = Head.of(request.scope)
        principal = guard(self.services, op, head, body, now)
        return self.respond(op, head, body, request_id, principal, now)

    def respond(self, op: Operation, head: Head, body: bytes, request_id: str, principal: Principal,
                now: datetime) -> Response:
        """Runs a call that passed the guard: the handler in a transaction, its jobs after the commit."""
        services = self.services
        params = Params.from_wire(head.scope.get("query_string", b""), body, head.first("content-type") or "",
                                  has_body=op.method == "POST" and not op.raw_body)
        call = Call(principal=principal, params=params, services=services, request_id=request_id,
                    if_none_match=head.first("if-none-match"), now=now, body=body if op.raw_body else b"")
        try:
            reply = op.handler(call)
            call.commit()
        finally:
            call.close()
        for kind, job_id in call.after_commit:
            services.queue.enqueue(kind, job_id)
        if isinstance(reply, Ok):
            return envelope.success(reply.data, request_id, notice=reply.notice)
        return reply


async def _framework_error(request: Request, exc: Exception) -> Response:
    # Starlette's own 404/405 (admin paths, odd methods) leave as envelopes like every other error.
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    code = {404: "InvalidAction.NotFound", 405: "UnsupportedHTTPMethod"}.get(status, "UNKNOWN_ERROR")
    message = f"{request.method} {request.url.path} is not supported" if status < 500 else UNKNOWN[2]
    return envelope.failure(status, code, message, new_request_id())


def create_app(services: Services) -> Starlette:
    dispatcher = Dispatcher(services)
    # One catch-all route: the operation table, not the framework, decides what exists.
    methods = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]
    # One FastPath, made here rather than by Starlette, so that the HTTP protocol can find it
    # (app.state.image_reads) and serve the image reads itself (imprint.server.inline).
    image_reads = FastPath(None, dispatcher=dispatcher)
    mock = services.settings.mock
    app = Starlette(routes=[admin_mount(services), *unsigned_routes(services), *console_routes(),
                            Route("/health", health_endpoint(services), methods=["GET", "HEAD"]),
                            Route("/{path:path}", dispatcher.handle, methods=methods)],
                    middleware=[Middleware(Observe, mock=mock), Middleware(image_reads.in_front_of)],
                    exception_handlers={HTTPException: _framework_error})
    app.state.services = services
    if not mock:
        # The protocol-level image reads would answer without the mock header; in mock mode they go
        # through the app like every other request.
        app.state.image_reads = image_reads
    return app
