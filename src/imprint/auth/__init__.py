"""Request authentication (ACS3 and ROA signatures, STS tokens) and RAM policy evaluation."""

from imprint.auth.credentials import (
    NONCE_RETENTION,
    TIMESTAMP_WINDOW,
    AccessKey,
    InMemoryNonceStore,
    KeyLookup,
    NonceStore,
)
from imprint.auth.errors import AuthError
from imprint.auth.principal import Principal
from imprint.auth.ram import Decision, PolicyError, RequestContext, evaluate, validate_policy
from imprint.auth.verifier import API_VERSION
from imprint.auth.verify import verify_request

__all__ = [
    "API_VERSION",
    "NONCE_RETENTION",
    "TIMESTAMP_WINDOW",
    "AccessKey",
    "AuthError",
    "Decision",
    "InMemoryNonceStore",
    "KeyLookup",
    "NonceStore",
    "PolicyError",
    "Principal",
    "RequestContext",
    "evaluate",
    "validate_policy",
    "verify_request",
]
