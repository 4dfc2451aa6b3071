"""ACS3 (V3) signatures: ``ACS3-HMAC-SHA256`` and ``ACS3-HMAC-SM3``."""

from __future__ import annotations

from datetime import datetime

from imprint.auth.canonical import rfc3986_encode, sorted_params
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
    if set(fields) != {"Credential", "SignedHeaders", "Signature"} or not all(fields.values()):
        raise _incomplete("Authorization needs exactly Credential, SignedHeaders and Signature.")
    return fields


class Acs3Verifier(Verifier):
    def __init__(self, request: SignedRequest, algorithm: str, credentials: str) -> None:
        fields = _parse_fields(credentials)
        super().__init__(request, fields["Credential"], fields["Signature"])
        self.algorithm = algorithm
        self.digest = DIGESTS[algorithm]
        self.signed_headers_text = fields["SignedHeaders"]
        self.signed_headers = self.signed_headers_text.split(";")

    def check_structure(self) -> None:
        names, headers = self.signed_headers, self.request.headers
        if names != sorted(set(names)) or any(not name or name != name.lower() for name in names):
            raise _incomplete("SignedHeaders must be lowercase, sorted and without repeats.")
        if "authorization" in names:
            raise _incomplete("The Authorization header cannot be signed.")
        required = [*ALWAYS_SIGNED, *(name for name in SIGNED_WHEN_PRESENT if name in headers)]
        # Bodiless async requests carry an unsigned Content-Type added by aiohttp; only a body
        # makes its Content-Type meaningful enough to demand a signature.
        if self.request.body and "content-type" in headers:
            required.append("content-type")
        unsigned = [name for name in required if name not in names]
        if unsigned:
            raise _incomplete(f"These headers must be signed: {', '.join(unsigned)}.")
        absent = [name for name in names if name not in headers]
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
        params = sorted_params(request.params())
        query = "&".join(f"{rfc3986_encode(name)}={rfc3986_encode(value)}" for name, value in params)
        header_lines = "".join(f"{name}:{self._header_value(name)}\n" for name in self.signed_headers)
        # The body hash is our own, never the client's x-acs-content-sha256: a changed body then
        # fails the signature even though that header is signed.
        body_hash = hexdigest(self.digest, request.body)
        lines = [request.method, request.path, query, header_lines, self.signed_headers_text, body_hash]
        return "\n".join(lines)

    def _header_value(self, name: str) -> str:
        values = self.request.headers.get_all(name)
        if len(values) == 1:  # the usual case, and six of them per request: skip the sort and join
            return values[0].strip()
        return ",".join(sorted(value.strip() for value in values))
