"""The admin API as data: (method, path) -> handler under /admin/v1, behind the admin bearer token.

Every answer uses the service's envelope, so errors read the same as on the AiContent API."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route

from imprint.api import envelope
from imprint.api.admin import handlers as h
from imprint.api.admin.handlers import AdminCall
from imprint.api.body import read_body
from imprint.api.error_map import RouteError, to_wire
from imprint.api.params import Params, parse_body
from imprint.api.services import Services

Handler = Callable[[AdminCall], Any]

ROUTES: tuple[tuple[str, str, Handler], ...] = (
    ("POST", "/accounts", h.create_account),
    ("GET", "/accounts", h.list_accounts),
    ("GET", "/accounts/{account_id}", h.get_account),
    ("DELETE", "/accounts/{account_id}", h.delete_account),
    ("POST", "/accounts/{account_id}/users", h.create_user),
    ("GET", "/accounts/{account_id}/users", h.list_users),
    ("POST", "/accounts/{account_id}/policies", h.create_policy),
    ("GET", "/accounts/{account_id}/policies", h.list_policies),
    ("GET", "/accounts/{account_id}/policies/{name}", h.get_policy),
    ("PUT", "/accounts/{account_id}/policies/{name}", h.update_policy),
    ("DELETE", "/accounts/{account_id}/policies/{name}", h.delete_policy),
    ("GET", "/users/{user_id}", h.get_user),
    ("DELETE", "/users/{user_id}", h.delete_user),
    ("POST", "/users/{user_id}/policies", h.attach_policy),
    ("DELETE", "/users/{user_id}/policies/{policy_type}/{name}", h.detach_policy),
    ("POST", "/users/{user_id}/temporary-keys", h.issue_temporary_key),
    ("POST", "/keys", h.create_key),
    ("GET", "/keys", h.list_keys),
    ("POST", "/keys/{access_key_id}/{action}", h.change_key),
    ("DELETE", "/keys/{access_key_id}", h.delete_key),
    ("POST", "/accounts/{account_id}/webhooks", h.add_webhook),
    ("GET", "/accounts/{account_id}/webhooks", h.list_webhooks),
    ("GET", "/accounts/{account_id}/webhook-deliveries", h.webhook_deliveries),
    ("POST", "/accounts/{account_id}/callback-secret", h.callback_secret),
    ("DELETE", "/webhooks/{webhook_id}", h.remove_webhook),
    ("GET", "/webhooks/{webhook_id}/deliveries", h.webhook_deliveries),
)


def _endpoint(services: Services, handler: Handler) -> Callable[[Request], Any]:
    async def endpoint(request: Request) -> Response:
        request_id = str(uuid.uuid4()).upper()
        try:
            if not services.admin_token.enabled:
                raise RouteError(404, "InvalidAction.NotFound",
                                 f"Specified api is not found: {request.url.path}")
            if not services.admin_token.accepts(request.headers.get("authorization")):
                raise RouteError(401, "InvalidAuthorization.Admin", "A valid admin bearer token is required.")
            body = await read_body(request, services.settings.max_body_bytes)
            return await run_in_threadpool(_execute, services, handler, request, body, request_id)
        except Exception as exc:  # every failure leaves as an envelope, never as a traceback
            return envelope.error(to_wire(exc), request_id)

    return endpoint


def _execute(services: Services, handler: Handler, request: Request, body: bytes,
             request_id: str) -> Response:
    parsed = parse_body(body, "application/json")
    params = Params(dict(request.query_params), parsed)
    with services.sessions() as session:
        call = AdminCall(session=session, services=services, path=dict(request.path_params), params=params,
                         body=parsed, now=services.clock())
        data = handler(call)
        session.commit()
    return envelope.success(data, request_id)


def admin_mount(services: Services) -> Mount:
    routes = [Route(path, _endpoint(services, handler), methods=[method]) for method, path, handler in ROUTES]
    return Mount("/admin/v1", routes=routes)

