"""Request authentication (ACS3 and ROA signatures, STS tokens) and RAM policy evaluation."""

from imprint.auth.authorize import AccessDenied, PolicySource, authorize, resource_arn
from imprint.auth.connection import TrustedProxies, request_context
from imprint.auth.credentials import (
    NONCE_RETENTION,
    TIMESTAMP_WINDOW,
    AccessKey,
    Claim,
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
    "AccessDenied",
    "NONCE_RETENTION",
    "TIMESTAMP_WINDOW",
    "AccessKey",
    "Claim",
    "AuthError",
    "Decision",
    "KeyLookup",
    "NonceStore",
    "PolicySource",
    "PolicyError",
    "Principal",
    "RequestContext",
    "TrustedProxies",
    "authorize",
    "evaluate",
    "request_context",
    "resource_arn",
    "validate_policy",
    "verify_request",
]
