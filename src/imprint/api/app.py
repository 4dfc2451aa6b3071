"""The ASGI app: one route that looks the operation up in the table, authenticates, runs the
handler inside a transaction, and enqueues jobs only after the commit."""

from __future__ import annotations

import logging
import uuid

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from imprint.api import envelope
from imprint.api.auth_dependency import authenticate
from imprint.api.call import Call, Ok
from imprint.api.error_map import RouteError, to_http
from imprint.api.operations import BY_PATH, Operation
from imprint.api.params import Params
from imprint.api.services import Services

log = logging.getLogger(__name__)
MAX_BODY = 1024 * 1024


class Dispatcher:
    def __init__(self, services: Services) -> None:
        self.services = services

    async def handle(self, request: Request) -> Response:
        request_id = str(uuid.uuid4()).upper()
        try:
            op = self._route(request)
            body = await self._body(request)
            if op.inline:
                return self._execute(op, request, body, request_id)
            return await run_in_threadpool(self._execute, op, request, body, request_id)
        except Exception as exc:  # every failure leaves as an envelope, never as a traceback
            return envelope.failure(*to_http(exc), request_id)

    @staticmethod
    def _route(request: Request) -> Operation:
        op = BY_PATH.get(request.url.path)
        if op is None:
            raise RouteError(404, "InvalidAction.NotFound", f"Specified api is not found: {request.url.path}")
        if request.method != op.method:
            raise RouteError(405, "UnsupportedHTTPMethod", f"{op.action} must be called with {op.method}")
        return op

    @staticmethod
    async def _body(request: Request) -> bytes:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BODY:
            raise RouteError(413, "B_PARAMETER_INVALID_EXCEPTION", f"request body exceeds {MAX_BODY} bytes")
        return await request.body()

    def _execute(self, op: Operation, request: Request, body: bytes, request_id: str) -> Response:
        services, scope = self.services, request.scope
        now = services.clock()
        principal = authenticate(services, method=request.method, raw_path=scope.get("raw_path") or b"",
                                 query=scope.get("query_string", b""), headers=scope["headers"], body=body,
                                 action=op.action, now=now)
        params = Params.from_wire(scope.get("query_string", b""), body,
                                  request.headers.get("content-type", ""), has_body=op.method == "POST")
        with services.sessions() as session:
            call = Call(principal=principal, params=params, session=session, services=services,
                        request_id=request_id, if_none_match=request.headers.get("if-none-match"), now=now)
            reply = op.handler(call)
            session.commit()
        for kind, job_id in call.after_commit:
            services.queue.enqueue(kind, job_id)
        if isinstance(reply, Ok):
            return envelope.success(reply.data, request_id, notice=reply.notice)
        return reply


def create_app(services: Services) -> Starlette:
    dispatcher = Dispatcher(services)
    # One catch-all route: the operation table, not the framework, decides what exists.
    methods = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]
    app = Starlette(routes=[Route("/{path:path}", dispatcher.handle, methods=methods)])
    app.state.services = services
    return app
