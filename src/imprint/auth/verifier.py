"""The steps every signature scheme shares; subclasses supply only parsing and canonicalisation."""

from __future__ import annotations

import hmac
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from imprint.auth import errors
from imprint.auth.canonical import HeaderMap, parse_query, split_target
from imprint.auth.credentials import AccessKey, Claim, KeyLookup, NonceStore
from imprint.auth.errors import AuthError
from imprint.auth.principal import Principal
from imprint.auth.timestamps import as_utc, check_freshness

API_VERSION = "20240611"
_MAX_NONCE_LENGTH = 128  # SDKs send 32 hex digits or a UUID; the cap bounds what the store keeps


@dataclass(frozen=True)
class SignedRequest:
    """A request exactly as received: nothing here is decoded or normalised yet."""

    method: str
    path: str
    raw_query: str
    headers: HeaderMap
    body: bytes

    @classmethod
    def from_wire(
        cls, *, method: str, raw_target: str, headers: Sequence[tuple[str, str]], body: bytes
    ) -> SignedRequest:
        return cls.from_target(method=method, raw_target=raw_target, headers=HeaderMap(headers), body=body)

    @classmethod
    def from_target(cls, *, method: str, raw_target: str, headers: HeaderMap, body: bytes) -> SignedRequest:
        """``from_wire`` for headers the caller has already indexed."""
        path, raw_query = split_target(raw_target)
        return cls(method=method, path=path, raw_query=raw_query, headers=headers, body=body)

    def params(self) -> list[tuple[str, str]]:
        return parse_query(self.raw_query)


@dataclass(frozen=True)
class Verified:
    """A request whose signature checked out; ``claim`` is its nonce, still to be claimed."""

    principal: Principal
    claim: Claim | None


def replayed() -> AuthError:
    return AuthError(errors.NONCE_USED, "Specified signature nonce was used already.")


@dataclass(frozen=True)
class Candidate:
    """One way the client may have signed: the string to sign and the signature it yields."""

    string_to_sign: str
    signature: str


class Verifier(ABC):
    """Checks one request; construct it with the parsed ``Authorization`` credentials."""

    def __init__(self, request: SignedRequest, access_key_id: str, signature: str) -> None:
        self.request = request
        self.access_key_id = access_key_id
        self.signature = signature

    @abstractmethod
    def check_structure(self) -> None:
        """Scheme rules that need no secret (header coverage, signature method...)."""

    @abstractmethod
    def signed_at(self) -> datetime:
        """The client's timestamp, parsed strictly."""

    @abstractmethod
    def candidates(self, secret: str) -> list[Candidate]:
        """Accepted signings, the canonical one first (it is the one reported on a mismatch)."""

    def verify(
        self, *, expected_action: str | None, keys: KeyLookup, nonces: NonceStore, now: datetime
    ) -> Principal:
        verified = self.check(expected_action=expected_action, keys=keys, now=now)
        if verified.claim is not None and not nonces.claim(*verified.claim):
            raise replayed()
        return verified.principal

    def check(self, *, expected_action: str | None, keys: KeyLookup, now: datetime) -> Verified:
        """Everything but the nonce claim, which the caller must make (and refuse the request with
        ``replayed()`` if it is not granted) before acting on the principal."""
        now = as_utc(now)
        self.check_structure()
        self._check_route(expected_action)
        key = self._find_key(keys, now)
        check_freshness(self.signed_at(), now)
        nonce = self._nonce()
        self._check_signature(key.secret)
        # Token checks run after the signature so unauthenticated callers learn nothing about tokens.
        self._check_security_token(key, now)
        principal = Principal(
            account_id=key.account_id,
            user_id=key.user_id,
            access_key_id=key.access_key_id,
            is_temporary=key.is_temporary,
            session_policy=key.session_policy,
        )
        # Claimed last, so that forged requests cannot fill the store or burn a client's nonce.
        return Verified(principal, None if nonce is None else (key.access_key_id, nonce, now))

    def _check_route(self, expected_action: str | None) -> None:
        headers = self.request.headers
        action = headers.get("x-acs-action")
        if expected_action is not None and action is not None and action != expected_action:
            raise AuthError(
                errors.ACTION_MISMATCH,
                f"The x-acs-action header {action!r} does not match the requested API {expected_action!r}.",
            )
        version = headers.get("x-acs-version")
        if version is not None and version != API_VERSION:
            raise AuthError(errors.INVALID_VERSION, f"Specified API version {version!r} is not valid.")

    def _find_key(self, keys: KeyLookup, now: datetime) -> AccessKey:
        key = keys.get(self.access_key_id)
        if key is None:
            raise AuthError(errors.ACCESS_KEY_NOT_FOUND, "Specified access key is not found.")
        expired = key.expires_at is not None and as_utc(key.expires_at) <= now
        if not key.active or (expired and not key.is_temporary):
            raise AuthError(errors.ACCESS_KEY_INACTIVE, "Specified access key is disabled.")
        return key

    def _nonce(self) -> str | None:
        nonce = self.request.headers.get("x-acs-signature-nonce")
        if nonce is not None and not (0 < len(nonce) <= _MAX_NONCE_LENGTH):
            message = "The x-acs-signature-nonce header is empty or too long."
            raise AuthError(errors.INCOMPLETE_SIGNATURE, message)
        return nonce

    def _check_signature(self, secret: str) -> None:
        presented = self.signature.encode("utf-8")
        candidates = self.candidates(secret)
        matched = False
        for candidate in candidates:
            # Every candidate is compared, so the time taken does not tell which variant matched.
            matched |= hmac.compare_digest(candidate.signature.encode("utf-8"), presented)
        if not matched:
            raise AuthError.signature_mismatch(candidates[0].string_to_sign)

    def _check_security_token(self, key: AccessKey, now: datetime) -> None:
        headers = self.request.headers
        claimed_id = headers.get("x-acs-accesskey-id")
        if claimed_id is not None and not _same(claimed_id, key.access_key_id):
            message = "The x-acs-accesskey-id header does not match the credential."
            raise AuthError(errors.TOKEN_MISMATCH, message)
        token = headers.get("x-acs-security-token")
        if key.security_token is None:
            if token is not None:
                raise AuthError(errors.TOKEN_MISMATCH, "Specified SecurityToken mismatch with the AccessKey.")
            return
        if token is None:
            raise AuthError(errors.MISSING_TOKEN, "SecurityToken is mandatory for a temporary AccessKey.")
        if not (token.isascii() and token.isprintable() and token.strip() and " " not in token):
            raise AuthError(errors.TOKEN_MALFORMED, "Specified SecurityToken is malformed.")
        if not _same(token, key.security_token):
            raise AuthError(errors.TOKEN_MISMATCH, "Specified SecurityToken mismatch with the AccessKey.")
        if key.expires_at is not None and as_utc(key.expires_at) <= now:
            raise AuthError(errors.TOKEN_EXPIRED, "Specified SecurityToken is expired.")


def _same(presented: str, stored: str) -> bool:
    return hmac.compare_digest(presented.encode("utf-8"), stored.encode("utf-8"))
