"""Auth before dispatch, in order: verify the signature (who, and so which tenant), claim its nonce,
throttle the key, then authorize the operation's RAM action on the account's resource. Nothing of
the operation runs, and nothing about the requested ids is looked up, until all of them have passed.

The nonce claim is the caller's step (the dispatcher awaits it in a batch, ``store/nonces/batch.py``),
so ``authenticate`` returns the claim still to be made alongside the principal."""

from __future__ import annotations

from datetime import datetime

from imprint.api.error_map import Throttled
from imprint.api.head import Head
from imprint.api.operations import Operation
from imprint.api.services import Services
from imprint.auth import authorize, request_context, resource_arn
from imprint.auth.principal import Principal
from imprint.auth.verifier import SignedRequest, Verified
from imprint.auth.verify import check_signed


def authenticate(services: Services, head: Head, *, body: bytes, action: str, now: datetime) -> Verified:
    scope = head.scope
    query = scope.get("query_string", b"")
    target = (scope.get("raw_path") or b"") + (b"?" + query if query else b"")
    request = SignedRequest.from_target(method=scope["method"],
                                        raw_target=target.decode("utf-8", "surrogateescape"),
                                        headers=head.headers, body=body)
    return check_signed(request, expected_action=action, keys=services.keys, now=now)


def throttle(services: Services, principal: Principal) -> None:
    wait = services.limiter.acquire(principal.access_key_id)
    if wait > 0:
        raise Throttled(wait)


def authorize_operation(services: Services, principal: Principal, op: Operation, head: Head,
                        now: datetime) -> None:
    if principal.is_root:
        # authorize() lets an account's own key do everything in its account without looking at the
        # context or the resource; building them (address parsing, the ARN) was wasted on every call.
        return
    scope = head.scope
    client = scope.get("client")
    context = request_context(
        peer=client[0] if client else None, scheme=scope.get("scheme", "http"),
        forwarded_for=head.headers.get_all("x-forwarded-for"),
        forwarded_proto=head.headers.get_all("x-forwarded-proto"),
        now=now, trusted=services.trusted_proxies)
    authorize(principal, action=op.ram_action, resource=resource_arn(services.settings.region,
                                                                     principal.account_id),
              context=context, policies=services.policies)


def admit(services: Services, principal: Principal, op: Operation, head: Head, now: datetime) -> None:
    """Everything after authentication and the nonce claim: the rate limit, then the RAM check."""
    throttle(services, principal)
    authorize_operation(services, principal, op, head, now)
