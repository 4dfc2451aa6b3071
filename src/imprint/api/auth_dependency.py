"""Auth before dispatch, in order: verify the signature (who, and so which tenant), throttle the
key, then authorize the operation's RAM action on the account's resource. Nothing of the
operation runs, and nothing about the requested ids is looked up, until all three have passed."""

from __future__ import annotations

from datetime import datetime

from starlette.requests import Request

from imprint.api.error_map import Throttled
from imprint.api.operations import Operation
from imprint.api.services import Services
from imprint.auth import authorize, request_context, resource_arn, verify_request
from imprint.auth.credentials import NonceStore
from imprint.auth.principal import Principal


def authenticate(services: Services, *, method: str, raw_path: bytes, query: bytes,
                 headers: list[tuple[bytes, bytes]], body: bytes, action: str, now: datetime,
                 nonces: NonceStore | None = None) -> Principal:
    """``nonces`` replaces the service's store; the image fast path uses it to batch the claims."""
    target = raw_path + (b"?" + query if query else b"")
    return verify_request(
        method=method, raw_target=target.decode("utf-8", "surrogateescape"),
        headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in headers], body=body,
        expected_action=action, keys=services.keys, nonces=services.nonces if nonces is None else nonces,
        now=now)


def throttle(services: Services, principal: Principal) -> None:
    wait = services.limiter.acquire(principal.access_key_id)
    if wait > 0:
        raise Throttled(wait)


def authorize_operation(services: Services, principal: Principal, op: Operation, request: Request,
                        now: datetime) -> None:
    client = request.scope.get("client")
    context = request_context(
        peer=client[0] if client else None, scheme=request.scope.get("scheme", "http"),
        forwarded_for=request.headers.getlist("x-forwarded-for"),
        forwarded_proto=request.headers.getlist("x-forwarded-proto"),
        now=now, trusted=services.trusted_proxies)
    authorize(principal, action=op.ram_action, resource=resource_arn(services.settings.region,
                                                                     principal.account_id),
              context=context, policies=services.policies)


def guard(services: Services, op: Operation, request: Request, body: bytes, now: datetime) -> Principal:
    scope = request.scope
    principal = authenticate(services, method=request.method, raw_path=scope.get("raw_path") or b"",
                             query=scope.get("query_string", b""), headers=scope["headers"], body=body,
                             action=op.action, now=now)
    admit(services, principal, op, request, now)
    return principal


def admit(services: Services, principal: Principal, op: Operation, request: Request, now: datetime) -> None:
    """Everything after authentication: the rate limit, then the RAM check."""
    throttle(services, principal)
    authorize_operation(services, principal, op, request, now)
