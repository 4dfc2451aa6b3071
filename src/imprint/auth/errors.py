"""Authentication failures, named with Alibaba Cloud's gateway error codes.

Status choices (the public docs are not consistent, so these are decisions):

* 400 for every signature, timestamp, nonce, security-token and scheme problem: that is what the
  gateway documents for ``IncompleteSignature``, ``SignatureDoesNotMatch``, ``InvalidTimeStamp.*``,
  ``SignatureNonceUsed`` and ``InvalidAccessKeyId.Inactive``, and the old core SDK only rewrites
  a ``SignatureDoesNotMatch`` into ``InvalidAccessKeySecret`` when the status is exactly 400.
* 404 for ``InvalidAccessKeyId.NotFound``: one Alibaba page lists 400, another 404. Both SDKs
  raise the same client-side error for any 4xx, so the choice only shows in status-based logs and
  metrics, where "not found" is the more telling answer.
* 400 for ``MissingAuthorization`` rather than 401, because the official clients never send
  credentials in reply to a challenge and Alibaba answers unauthenticated calls with 400s.
* 400 for ``InvalidAction.Mismatch`` / ``InvalidVersion``: the signed ``x-acs-action`` or
  ``x-acs-version`` disagrees with the route that received the request.
"""

from __future__ import annotations

INCOMPLETE_SIGNATURE = "IncompleteSignature"
SIGNATURE_DOES_NOT_MATCH = "SignatureDoesNotMatch"
ACCESS_KEY_NOT_FOUND = "InvalidAccessKeyId.NotFound"
ACCESS_KEY_INACTIVE = "InvalidAccessKeyId.Inactive"
TIMESTAMP_FORMAT = "InvalidTimeStamp.Format"
TIMESTAMP_EXPIRED = "InvalidTimeStamp.Expired"
NONCE_USED = "SignatureNonceUsed"
TOKEN_EXPIRED = "InvalidSecurityToken.Expired"
TOKEN_MISMATCH = "InvalidSecurityToken.MismatchWithAccessKey"
TOKEN_MALFORMED = "InvalidSecurityToken.Malformed"
MISSING_TOKEN = "MissingSecurityToken"
INVALID_SIGNATURE_METHOD = "InvalidSignatureMethod"
MISSING_AUTHORIZATION = "MissingAuthorization"
ACTION_MISMATCH = "InvalidAction.Mismatch"
INVALID_VERSION = "InvalidVersion"

_STATUS = {ACCESS_KEY_NOT_FOUND: 404}

SIGNATURE_MISMATCH_PREFIX = "Specified signature does not match our calculation. server string to sign is:"


class AuthError(Exception):
    """A request that failed authentication; ``code`` and ``message`` go on the wire as-is."""

    def __init__(self, code: str, message: str, http_status: int | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.http_status = http_status if http_status is not None else _STATUS.get(code, 400)

    @classmethod
    def signature_mismatch(cls, string_to_sign: str) -> AuthError:
        # The old core SDK does message.split(':')[1]; a message without a colon crashes it with a
        # bare IndexError, so the gateway's "...string to sign is:<sts>" form is kept exactly.
        return cls(SIGNATURE_DOES_NOT_MATCH, SIGNATURE_MISMATCH_PREFIX + string_to_sign)

    def __repr__(self) -> str:
        return f"AuthError(code={self.code!r}, message={self.message!r}, http_status={self.http_status})"
