"""What is served without a signature: the Prometheus scrape, the OpenAPI document and its reference
page. None of it names a tenant or a job; restrict /metrics at the proxy where even totals are private."""

from __future__ import annotations

from importlib.resources import files

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from imprint import metrics
from imprint.api.openapi.document import build_document
from imprint.api.services import Services


def unsigned_routes(services: Services) -> list[Route]:
    document = build_document()
    page = files("imprint.api.openapi").joinpath("reference.html").read_text(encoding="utf-8")

    async def scrape(request: Request) -> Response:
        text, content_type = await run_in_threadpool(metrics.exposition, services.sessions)
        return Response(text, media_type=content_type)

    async def openapi(request: Request) -> Response:
        return JSONResponse(document)

    async def reference(request: Request) -> Response:
        return HTMLResponse(page)

    return [Route("/metrics", scrape, methods=["GET"]), Route("/openapi.json", openapi, methods=["GET"]),
            Route("/reference", reference, methods=["GET"])]
