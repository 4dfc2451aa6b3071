"""The steps shared by both schemes: dispatch, key lookup, freshness, nonces, STS tokens."""

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from authkit import (
    AKID,
    TOKEN,
    Req,
    load_captures,
    minutes,
    permanent_key,
    roa_request,
    sts_key,
    v3_request,
    verify,
)

from imprint.auth import AuthError
from imprint.store.nonces import InMemoryNonceStore

CAPTURES = load_captures()
V3 = CAPTURES[0]  # signing.md §9.1
V3_STS = CAPTURES[6]
ROA = CAPTURES[15]
ROA_STS = CAPTURES[21]
OLD_SDK = CAPTURES[45]  # no nonce
OLD_SDK_STS = CAPTURES[53]  # token but no x-acs-accesskey-id
BY_SCHEME = [pytest.param(V3, id="acs3"), pytest.param(ROA, id="roa")]
STS_BY_SCHEME = [
    pytest.param(V3_STS, id="acs3"),
    pytest.param(ROA_STS, id="roa"),
    pytest.param(OLD_SDK_STS, id="old"),
]


def _error(request: Req, **kwargs: Any) -> AuthError:
    with pytest.raises(AuthError) as caught:
        verify(request, **kwargs)
    return caught.value


def test_fixture_captures_are_what_the_tests_assume() -> None:
    assert (V3.scheme, ROA.scheme, OLD_SDK.scheme) == ("ACS3-HMAC-SHA256", "acs", "acs")
    assert V3_STS.is_sts and ROA_STS.is_sts and OLD_SDK_STS.is_sts
    assert OLD_SDK.header("x-acs-signature-nonce") is None
    assert OLD_SDK_STS.header("x-acs-accesskey-id") is None


# --- Authorization header and dispatch ---------------------------------------------------------


@pytest.mark.parametrize("value", [None, "", "   "])
def test_missing_authorization(value: str | None) -> None:
    request = V3.without_header("Authorization")
    if value is not None:
        request = request.with_header("Authorization", value)
    error = _error(request)
    assert (error.code, error.http_status) == ("MissingAuthorization", 400)


def test_repeated_authorization_is_incomplete() -> None:
    request = Req(V3.method, V3.target, (*V3.headers, ("authorization", V3.header("authorization") or "")))
    assert _error(request).code == "IncompleteSignature"


@pytest.mark.parametrize(
    "authorization",
    [
        "ACS3-RSA-SHA256 Credential=x,SignedHeaders=host,Signature=ab",
        "Bearer abc",
        "AWS4-HMAC-SHA256 Credential=x",
    ],
)
def test_unsupported_schemes(authorization: str) -> None:
    assert _error(V3.with_header("Authorization", authorization)).code == "InvalidSignatureMethod"


def test_scheme_without_credentials_is_incomplete() -> None:
    assert _error(V3.with_header("Authorization", "acs")).code == "IncompleteSignature"


def test_principal_of_a_permanent_key() -> None:
    principal = verify(V3, key=permanent_key(account_id="acct-9", user_id=None))
    assert (principal.account_id, principal.user_id, principal.access_key_id) == ("acct-9", None, AKID)
    assert principal.is_temporary is False


def test_principal_of_an_sts_key() -> None:
    assert verify(V3_STS).is_temporary is True


# --- AccessKey lookup ----------------------------------------------------------------------------


@pytest.mark.parametrize("request_", BY_SCHEME)
def test_unknown_access_key(request_: Req) -> None:
    error = _error(request_, key=None)
    assert (error.code, error.http_status) == ("InvalidAccessKeyId.NotFound", 404)


@pytest.mark.parametrize("request_", BY_SCHEME)
def test_disabled_access_key(request_: Req) -> None:
    error = _error(request_, key=permanent_key(active=False))
    assert (error.code, error.http_status) == ("InvalidAccessKeyId.Inactive", 400)


def test_expired_permanent_key_counts_as_disabled() -> None:
    expired = permanent_key(expires_at=V3.signed_at - minutes(1))
    assert _error(V3, key=expired).code == "InvalidAccessKeyId.Inactive"


# --- Timestamps ----------------------------------------------------------------------------------


@pytest.mark.parametrize("request_", BY_SCHEME)
@pytest.mark.parametrize("skew", [minutes(15), -minutes(15), timedelta(0)])
def test_fifteen_minutes_either_way_is_accepted(request_: Req, skew: timedelta) -> None:
    verify(request_, now=request_.signed_at + skew)


@pytest.mark.parametrize("request_", BY_SCHEME)
@pytest.mark.parametrize(
    "skew",
    [pytest.param(minutes(15) + timedelta(seconds=1), id="stale"), pytest.param(-minutes(16), id="future")],
)
def test_outside_the_window_is_expired(request_: Req, skew: timedelta) -> None:
    error = _error(request_, now=request_.signed_at + skew)
    assert (error.code, error.http_status) == ("InvalidTimeStamp.Expired", 400)


def test_naive_clock_is_taken_as_utc() -> None:
    verify(V3, now=V3.signed_at.replace(tzinfo=None))


def test_clock_in_another_zone_is_converted() -> None:
    verify(V3, now=V3.signed_at.astimezone(ZoneInfo("Asia/Shanghai")))


@pytest.mark.parametrize(
    "value",
    ["2026-11-25 08:38:16Z", "2026-11-25T08:38:16", "2026-11-25T08:38:16.123Z", "2026-13-25T08:38:16Z"],
)
def test_malformed_x_acs_date(value: str) -> None:
    request = v3_request(extra=(("x-acs-date", value),))
    assert (
        _error(request, now=datetime(2026, 11, 25, 8, 38, 16, tzinfo=UTC)).code == "InvalidTimeStamp.Format"
    )


# --- Nonces --------------------------------------------------------------------------------------


@pytest.mark.parametrize("request_", BY_SCHEME)
def test_replayed_nonce_is_refused(request_: Req) -> None:
    nonces = InMemoryNonceStore()
    verify(request_, nonces=nonces)
    error = _error(request_, nonces=nonces, now=request_.signed_at + minutes(1))
    assert (error.code, error.http_status) == ("SignatureNonceUsed", 400)


def test_request_without_nonce_is_accepted_every_time() -> None:
    nonces = InMemoryNonceStore()
    verify(OLD_SDK, nonces=nonces)
    verify(OLD_SDK, nonces=nonces)
    assert len(nonces) == 0


def test_forged_request_does_not_burn_the_nonce() -> None:
    nonces = InMemoryNonceStore()
    _error(V3, nonces=nonces, key=permanent_key(secret="wrong"))
    verify(V3, nonces=nonces)


@pytest.mark.parametrize("nonce", ["", "n" * 129])
def test_unusable_nonce_is_incomplete(nonce: str) -> None:
    assert (
        _error(roa_request(extra=(("x-acs-signature-nonce", nonce),), nonce=False)).code
        == "IncompleteSignature"
    )


# --- Security tokens -----------------------------------------------------------------------------


@pytest.mark.parametrize("request_", STS_BY_SCHEME)
def test_sts_request_verifies(request_: Req) -> None:
    assert verify(request_, key=sts_key()).is_temporary


@pytest.mark.parametrize("request_", STS_BY_SCHEME)
def test_token_not_issued_for_this_key(request_: Req) -> None:
    error = _error(request_, key=sts_key(security_token="CAIS-another-token"))
    assert (error.code, error.http_status) == ("InvalidSecurityToken.MismatchWithAccessKey", 400)


@pytest.mark.parametrize("request_", STS_BY_SCHEME)
def test_expired_token(request_: Req) -> None:
    error = _error(request_, key=sts_key(expires_at=request_.signed_at - timedelta(seconds=1)))
    assert (error.code, error.http_status) == ("InvalidSecurityToken.Expired", 400)


@pytest.mark.parametrize("request_", BY_SCHEME)
def test_temporary_key_without_token(request_: Req) -> None:
    assert _error(request_, key=sts_key()).code == "MissingSecurityToken"


@pytest.mark.parametrize("request_", STS_BY_SCHEME)
def test_token_sent_with_a_permanent_key(request_: Req) -> None:
    assert _error(request_, key=permanent_key()).code == "InvalidSecurityToken.MismatchWithAccessKey"


def test_access_key_id_header_must_match_the_credential() -> None:
    extra = (("x-acs-accesskey-id", "LTAI5tSomeoneElse"), ("x-acs-security-token", TOKEN))
    assert _error(v3_request(extra=extra), key=sts_key()).code == "InvalidSecurityToken.MismatchWithAccessKey"


@pytest.mark.parametrize("token", ["CAIS bad token", "CAIS-\x01", "令牌"])
def test_malformed_token(token: str) -> None:
    extra = (("x-acs-accesskey-id", AKID), ("x-acs-security-token", token))
    assert _error(v3_request(extra=extra), key=sts_key()).code == "InvalidSecurityToken.Malformed"


def test_signature_is_checked_before_the_token() -> None:
    error = _error(V3_STS, key=sts_key(secret="wrong", security_token="CAIS-another-token"))
    assert error.code == "SignatureDoesNotMatch"
