"""The HTTP protocol serving the image reads itself, with no ASGI task, message or Response call.

An image fetch is the request clients send in bulk, and after the earlier cuts (``api/fastpath.py``,
``server/protocol.py``) uvicorn's own per-request machinery was about a fifth of one: an asyncio task
per request, the ASGI ``receive``/``send`` messages, Starlette's ``Response.__call__`` and uvicorn's
checks of every header it is sent. For a bodiless request to one of the two inline operations this
protocol calls FastPath's steps directly from the parser's callbacks: verify the signature, join the
nonce claim to this loop round's batch, and when the batch is decided, answer and write the response
(status line, uvicorn's default headers, the response's own) in one go. Anything else (a body, another
path) takes uvicorn's path unchanged.

What the ASGI path guarantees is kept: responses leave in request order (a pipelined request starts
only when the one before it completed, through uvicorn's own queue), ``Connection: close`` and
HTTP/1.0 close the connection after the answer, a client that stops reading is not written to until
the transport drains (the answer then waits in a task), and a client gone before its answer gets
nothing written; its nonce stays claimed, as on the ASGI path.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

from starlette.responses import Response
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, RequestResponseCycle
from uvicorn.protocols.utils import get_client_addr, get_path_with_query_string

from imprint.api import envelope
from imprint.api.error_map import to_wire
from imprint.api.fastpath import FastPath
from imprint.api.head import Head
from imprint.api.operations import Operation
from imprint.api.request_ids import new_request_id
from imprint.auth.principal import Principal
from imprint.server.protocol import CoalescingHttpToolsProtocol


class InlineReadsProtocol(CoalescingHttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        state = getattr(self.app, "state", None)
        reads = getattr(state, "image_reads", None)
        self._reads: FastPath | None = reads if isinstance(reads, FastPath) else None
        self._awaiting_body: tuple[RequestResponseCycle, Operation, Head] | None = None

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: Any) -> None:
        taken = self._inline(cycle) if app is self.app else None
        if taken is None:
            super()._start_asgi_task(cycle, app)
        elif cycle.more_body:  # the parser has not reached the end of this message yet
            self._awaiting_body = (cycle, *taken)
        else:
            # A pipelined request, started from the previous one's completion: on the next loop turn,
            # so that a run of pipelined answers written at once does not recurse through each other.
            self.loop.call_soon(self._serve, cycle, *taken)

    def on_message_complete(self) -> None:
        super().on_message_complete()
        waiting = self._awaiting_body
        if waiting is not None and waiting[0] is self.cycle:
            self._awaiting_body = None
            self._serve(*waiting)

    def connection_lost(self, exc: Exception | None) -> None:
        self._awaiting_body = None
        super().connection_lost(exc)

    def _inline(self, cycle: RequestResponseCycle) -> tuple[Operation, Head] | None:
        reads = self._reads
        if reads is None:
            return None
        op = reads.operation(cycle.scope)
        if op is None:
            return None
        head = Head.of(cycle.scope)
        length = head.first("content-length")
        # Only bodiless requests: a body goes through read_asgi_body's checks and flow control.
        if head.first("transfer-encoding") is not None or length not in (None, "0") or cycle.body:
            return None
        return op, head

    def _serve(self, cycle: RequestResponseCycle, op: Operation, head: Head) -> None:
        reads = self._reads
        assert reads is not None
        request_id = new_request_id()
        try:
            now = reads.services.clock()
            principal, claim = reads.verify(op, head, b"", now)
        except Exception as exc:  # every failure leaves as an envelope, never as a traceback
            # Answered on the next loop turn, never from inside the parser's callbacks: completing a
            # response there would arm uvicorn's keep-alive timer while later requests are parsed.
            self.loop.call_soon(self._respond, cycle, envelope.error(to_wire(exc), request_id))
            return
        if claim is None:
            self.loop.call_soon(self._claimed, cycle, op, head, request_id, principal, now, None)
            return
        future = reads.claims.claim_future(self.loop, claim)
        future.add_done_callback(
            functools.partial(self._claimed, cycle, op, head, request_id, principal, now)
        )

    def _claimed(self, cycle: RequestResponseCycle, op: Operation, head: Head, request_id: str,
                 principal: Principal, now: Any, future: asyncio.Future[bool] | None) -> None:
        reads = self._reads
        assert reads is not None
        try:
            if future is not None and not future.result():
                reads.replayed(op, head, b"", now)
            response = reads.answer(op, head, b"", request_id, principal, now)
        except Exception as exc:
            response = envelope.error(to_wire(exc), request_id)
        self._respond(cycle, response)

    def _respond(self, cycle: RequestResponseCycle, response: Response) -> None:
        if cycle.disconnected:
            return
        if self.flow.write_paused:
            # The client is not reading: wait for the transport to drain, as uvicorn's send() does.
            task = self.loop.create_task(self._respond_after_drain(cycle, response))
            task.add_done_callback(self.tasks.discard)
            self.tasks.add(task)
            return
        self._write(cycle, response)

    async def _respond_after_drain(self, cycle: RequestResponseCycle, response: Response) -> None:
        await self.flow.drain()
        if not cycle.disconnected:
            self._write(cycle, response)

    def _write(self, cycle: RequestResponseCycle, response: Response) -> None:
        # What uvicorn's send() writes for these responses (fixed length, never HEAD), in one write.
        if self.access_log:  # the line uvicorn's send() logs
            scope = cycle.scope
            self.access_logger.info('%s - "%s %s HTTP/%s" %d', get_client_addr(scope), scope["method"],
                                    get_path_with_query_string(scope), scope["http_version"],
                                    response.status_code)
        content = [STATUS_LINE[response.status_code]]
        says_close = False
        for name, value in (*self.server_state.default_headers, *response.raw_headers):
            name = name.lower()
            if name == b"connection" and b"close" in [t.lower().strip() for t in value.split(b",")]:
                cycle.keep_alive = False
                says_close = True
            content += (name, b": ", value, b"\r\n")
        if not cycle.keep_alive and not says_close:
            content.append(b"connection: close\r\n")
        content += (b"\r\n", response.body)
        cycle.response_started = True
        cycle.waiting_for_100_continue = False
        self.transport.write(b"".join(content))
        cycle.response_complete = True
        cycle.message_event.set()
        if not cycle.keep_alive:
            self.transport.close()
        cycle.on_response()
