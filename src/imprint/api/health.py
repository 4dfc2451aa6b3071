"""`GET /health`: unsigned, for load balancers and start-up scripts; says only whether this process
can serve (its database answers), never anything about accounts or jobs."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from sqlalchemy import text
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from imprint.api.services import Services

log = logging.getLogger(__name__)


def health_endpoint(services: Services) -> Callable[[Request], Awaitable[Response]]:
    def database_answers() -> bool:
        try:
            with services.sessions() as session:
                session.execute(text("SELECT 1"))
            return True
        except Exception:  # any failure means "not ready"; the reason goes to the log only
            log.warning("health check: the database does not answer", exc_info=True)
            return False

    async def health(request: Request) -> Response:
        if await run_in_threadpool(database_answers):
            return JSONResponse({"status": "ok"}, headers={"Cache-Control": "no-store"})
        return JSONResponse({"status": "unavailable"}, status_code=503, headers={"Cache-Control": "no-store"})

    return health
