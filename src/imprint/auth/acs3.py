"""ACS3 (V3) signatures: ``ACS3-HMAC-SHA256`` and ``ACS3-HMAC-SM3``.

This runs on every signed request, so the parts that depend only on what a client sends the same
way each time (its SignedHeaders list, its query) are validated or canonicalised once and cached;
everything that differs per request (date, nonce, signature) is checked afresh every time.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache

from imprint.auth.canonical import canonical_query
from imprint.auth.digests import hexdigest, hmac_hexdigest
from imprint.auth.errors import INCOMPLETE_SIGNATURE, AuthError
from imprint.auth.timestamps import parse_acs_date
from imprint.auth.verifier import Candidate, SignedRequest, Verifier

HMAC_SHA256 = "ACS3-HMAC-SHA256"
HMAC_SM3 = "ACS3-HMAC-SM3"
DIGESTS = {HMAC_SHA256: "sha256", HMAC_SM3: "sm3"}

# The SDK signs all of these; requiring them is what makes the date, nonce, action and body hash
# trustworthy at all.
ALWAYS_SIGNED = (
    "host",
    "x-acs-action",
    "x-acs-content-sha256",
    "x-acs-date",
    "x-acs-signature-nonce",
    "x-acs-version",
)
SIGNED_WHEN_PRESENT = ("x-acs-accesskey-id", "x-acs-security-token")

# SignedHeaders lists longer than this are validated afresh each time, which keeps the cache small
# whatever clients send (the SDKs' lists are under 150 characters).
_CACHED_NAMES_LENGTH = 512


def _incomplete(reason: str) -> AuthError:
    message = f"The request signature does not conform to Aliyun standards. {reason}"
    return AuthError(INCOMPLETE_SIGNATURE, message)


def _parse_fields(credentials: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for part in credentials.split(","):
        name, sep, value = part.strip().partition("=")
        if not sep or name in fields:
            raise _incomplete("The Authorization header is malformed.")
        fields[name] = value.strip()
    if fields.keys() != {"Credential", "SignedHeaders", "Signature"} or not all(fields.values()):
        raise _incomplete("Authorization needs exactly Credential, SignedHeaders and Signature.")
    return fields


def _checked_names(text: str) -> tuple[tuple[str, ...], bool]:
    """The names of a SignedHeaders list, and whether every ALWAYS_SIGNED one is among them; raises
    for a list that is not lowercase, sorted and without repeats, or that names Authorization."""
    names = text.split(";")
    if names != sorted(set(names)) or any(not name or name != name.lower() for name in names):
        raise _incomplete("SignedHeaders must be lowercase, sorted and without repeats.")
    if "authorization" in names:
        raise _incomplete("The Authorization header cannot be signed.")
    return tuple(names), all(name in names for name in ALWAYS_SIGNED)


# Pure, and a client sends the same list on every request; an invalid list raises and is not cached.
_checked_names_cached = lru_cache(maxsize=256)(_checked_names)


class Acs3Verifier(Verifier):
    def __init__(self, request: SignedRequest, algorithm: str, credentials: str) -> None:
        fields = _parse_fields(credentials)
        super().__init__(request, fields["Credential"], fields["Signature"])
        self.algorithm = algorithm
        self.digest = DIGESTS[algorithm]
        self.signed_headers_text = fields["SignedHeaders"]
        self.signed_headers = self.signed_headers_text.split(";")

    def check_structure(self) -> None:
        text, headers = self.signed_headers_text, self.request.headers
        checked = _checked_names_cached if len(text) <= _CACHED_NAMES_LENGTH else _checked_names
        names, has_always_signed = checked(text)
        # The common case (every required header signed) costs three lookups; the full list of
        # what is unsigned is only worked out for a request that fails.
        complete = has_always_signed and all(
            name in names for name in SIGNED_WHEN_PRESENT if name in headers
        ) and not (self.request.body and "content-type" in headers and "content-type" not in names)
        if not complete:
            required = [*ALWAYS_SIGNED, *(name for name in SIGNED_WHEN_PRESENT if name in headers)]
            # Bodiless async requests carry an unsigned Content-Type added by aiohttp; only a body
            # makes its Content-Type meaningful enough to demand a signature.
            if self.request.body and "content-type" in headers:
                required.append("content-type")
            unsigned = [name for name in required if name not in names]
            raise _incomplete(f"These headers must be signed: {', '.join(unsigned)}.")
        absent = headers.missing(names)
        if absent:
            raise _incomplete(f"Signed headers are missing from the request: {', '.join(absent)}.")

    def signed_at(self) -> datetime:
        return parse_acs_date(self.request.headers.get("x-acs-date"))

    def candidates(self, secret: str) -> list[Candidate]:
        request_hash = hexdigest(self.digest, self.canonical_request().encode("utf-8"))
        string_to_sign = f"{self.algorithm}\n{request_hash}"
        signature = hmac_hexdigest(self.digest, secret.encode("utf-8"), string_to_sign.encode("utf-8"))
        return [Candidate(string_to_sign, signature)]

    def canonical_request(self) -> str:
        request = self.request
        headers = request.headers
        header_lines = "".join([f"{name}:{_header_value(headers.values(name))}\n"
                                for name in self.signed_headers])
        # The body hash is our own, never the client's x-acs-content-sha256: a changed body then
        # fails the signature even though that header is signed.
        body_hash = hexdigest(self.digest, request.body)
        return "\n".join((request.method, request.path, canonical_query(request.raw_query), header_lines,
                          self.signed_headers_text, body_hash))


def _header_value(values: Sequence[str]) -> str:
    if len(values) == 1:  # the usual case, and six of them per request: skip the sort and join
        return values[0].strip()
    return ",".join(sorted(value.strip() for value in values))
