"""The one entry point the HTTP layer calls to authenticate a request."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from imprint.auth import acs3, errors, roa
from imprint.auth.credentials import KeyLookup, NonceStore
from imprint.auth.errors import AuthError
from imprint.auth.principal import Principal
from imprint.auth.verifier import SignedRequest, Verified, Verifier


def verify_request(
    *,
    method: str,
    raw_target: str,
    headers: Sequence[tuple[str, str]],
    body: bytes,
    expected_action: str | None,
    keys: KeyLookup,
    nonces: NonceStore,
    now: datetime,
) -> Principal:
    """Authenticate one request and return who sent it, or raise ``AuthError``.

    ``raw_target`` is the path and raw query exactly as received, ``headers`` the received headers
    in any case and order (repeats allowed), ``body`` the raw bytes before any parsing. A claimed
    nonce is only recorded once the signature has verified.
    """
    request = SignedRequest.from_wire(method=method, raw_target=raw_target, headers=headers, body=body)
    return verify_signed(request, expected_action=expected_action, keys=keys, nonces=nonces, now=now)


def verify_signed(request: SignedRequest, *, expected_action: str | None, keys: KeyLookup, nonces: NonceStore,
                  now: datetime) -> Principal:
    """``verify_request`` for a request already split into its parts."""
    return select_verifier(request).verify(expected_action=expected_action, keys=keys, nonces=nonces, now=now)


def check_signed(request: SignedRequest, *, expected_action: str | None, keys: KeyLookup,
                 now: datetime) -> Verified:
    """``verify_signed`` short of the nonce claim, which the caller makes (in a batch, say)."""
    return select_verifier(request).check(expected_action=expected_action, keys=keys, now=now)


def select_verifier(request: SignedRequest) -> Verifier:
    """Pick the verifier from the ``Authorization`` scheme."""
    values = [value.strip() for value in request.headers.get_all("authorization")]
    if not values or not any(values):
        hint = " Bearer tokens are not supported." if "x-acs-bearer-token" in request.headers else ""
        raise AuthError(errors.MISSING_AUTHORIZATION, f"The Authorization header is required.{hint}")
    if len(values) > 1:
        raise AuthError(errors.INCOMPLETE_SIGNATURE, "The Authorization header must be sent once.")
    scheme, _, credentials = values[0].partition(" ")
    if not credentials.strip():
        raise AuthError(
            errors.INCOMPLETE_SIGNATURE, "The request signature does not conform to Aliyun standards."
        )
    if scheme in acs3.DIGESTS:
        return acs3.Acs3Verifier(request, scheme, credentials)
    if scheme == roa.SCHEME:
        return roa.RoaVerifier(request, credentials)
    raise AuthError(
        errors.INVALID_SIGNATURE_METHOD, f"Specified signature method {scheme!r} is not supported."
    )
