"""ACS3 (V3) verification: tampering, header coverage, Authorization parsing, route agreement, SM3."""

import hashlib
import hmac
from dataclasses import replace
from typing import Any

import pytest
from authkit import PREFIX, Req, load_captures, v3_request, verify

from imprint.auth import AuthError
from imprint.auth.digests import hexdigest, hmac_hexdigest

CAPTURES = load_captures()
GET_AWKWARD = CAPTURES[3]  # signing.md §9.3 query, no STS
POST_BODY = CAPTURES[1]  # signing.md §9.2 JSON body
SM3_CAPTURES = [c for c in CAPTURES if c.scheme == "ACS3-HMAC-SM3"]


def _code(request: Req, **kwargs: Any) -> str:
    with pytest.raises(AuthError) as caught:
        verify(request, **kwargs)
    return caught.value.code


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda r: replace(r, target=r.target.replace("model-42", "model-43")), id="query-value"),
        pytest.param(lambda r: replace(r, target=r.target + "&extra=1"), id="query-added"),
        pytest.param(
            lambda r: replace(r, target=r.target.replace("/queryImageAsset", "/queryImageAssetX")), id="path"
        ),
        pytest.param(lambda r: replace(r, method="POST"), id="method"),
        pytest.param(lambda r: r.with_header("user-agent", "curl/8"), id="signed-header"),
        pytest.param(lambda r: r.with_header("host", "evil.example"), id="host"),
    ],
)
def test_tampered_get_fails(tamper) -> None:
    assert _code(tamper(GET_AWKWARD), expected_action=None) == "SignatureDoesNotMatch"


def test_tampered_body_fails() -> None:
    tampered = replace(POST_BODY, body=POST_BODY.body.replace(b"400", b"900"))
    assert _code(tampered) == "SignatureDoesNotMatch"


def test_tampered_body_with_matching_hash_header_still_fails() -> None:
    body = POST_BODY.body.replace(b"400", b"900")
    tampered = replace(POST_BODY, body=body).with_header(
        "x-acs-content-sha256", hashlib.sha256(body).hexdigest()
    )
    assert _code(tampered) == "SignatureDoesNotMatch"


@pytest.mark.parametrize(
    "rewrite",
    [
        pytest.param(lambda t: t.replace("+", "%20"), id="space-as-%20"),
        pytest.param(lambda t: t.replace("%2A", "*").replace("%2F", "/"), id="async-escaping"),
        pytest.param(
            lambda t: t.replace("?encodeFormat=base64&", "?").replace("p-7", "p-7&encodeFormat=base64"),
            id="reordered",
        ),
    ],
)
def test_equivalent_wire_forms_of_the_query_verify(rewrite) -> None:
    verify(replace(GET_AWKWARD, target=rewrite(GET_AWKWARD.target)))


def test_unsigned_extra_headers_are_ignored() -> None:
    verify(GET_AWKWARD.with_header("X-Forwarded-For", "10.0.0.1"))


def test_signature_with_spaces_after_commas_verifies() -> None:
    verify(v3_request(auth_sep=", "))


def test_sm3_verifies_through_the_gmssl_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hashlib, "algorithms_available", {"sha256", "sha1", "md5"})
    for capture in SM3_CAPTURES:
        verify(capture)


@pytest.mark.parametrize("key", [b"k", b"TestAccessKeySecretValue0123456789", b"x" * 100])
def test_gmssl_sm3_hmac_matches_openssl(key: bytes) -> None:
    message = "ACS3-HMAC-SM3\n图".encode()
    assert hmac_hexdigest("sm3", key, message, use_openssl=False) == hmac.new(key, message, "sm3").hexdigest()
    assert hexdigest("sm3", message, use_openssl=False) == hashlib.new("sm3", message).hexdigest()


def test_fresh_sm3_request_verifies() -> None:
    verify(
        v3_request(algorithm="ACS3-HMAC-SM3", method="POST", target=PREFIX + "addModelTrainJob", body=b"{}")
    )


def test_content_type_must_be_signed_when_there_is_a_body() -> None:
    request = v3_request(
        method="POST", target=PREFIX + "addModelTrainJob", body=b'{"a":1}', unsigned=("content-type",)
    )
    assert _code(request) == "IncompleteSignature"


def test_unsigned_content_type_is_fine_without_a_body() -> None:
    verify(v3_request(extra=(("Content-Type", "application/octet-stream"),), unsigned=("content-type",)))


@pytest.mark.parametrize(
    "header",
    ["host", "x-acs-action", "x-acs-version", "x-acs-date", "x-acs-signature-nonce", "x-acs-content-sha256"],
)
def test_required_headers_must_be_signed(header: str) -> None:
    assert _code(v3_request(unsigned=(header,))) == "IncompleteSignature"


@pytest.mark.parametrize("header", ["x-acs-security-token", "x-acs-accesskey-id"])
def test_sts_headers_must_be_signed_when_present(header: str) -> None:
    sts = (
        ("x-acs-accesskey-id", "LTAI5tTestAccessKeyId01"),
        ("x-acs-security-token", "CAIS-fake-sts-token/+=="),
    )
    assert _code(v3_request(extra=sts, unsigned=(header,))) == "IncompleteSignature"


@pytest.mark.parametrize(
    "signed_headers",
    [
        pytest.param(
            "x-acs-version;host;accept;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce",
            id="unsorted",
        ),
        pytest.param(
            "accept;Host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version",
            id="uppercase",
        ),
        pytest.param(
            "accept;accept;host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;"
            "x-acs-version",
            id="repeated",
        ),
        pytest.param(
            "accept;authorization;host;x-acs-action;x-acs-content-sha256;x-acs-date;"
            "x-acs-signature-nonce;x-acs-version",
            id="authorization",
        ),
        pytest.param(
            "accept;host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;"
            "x-acs-version;x-missing",
            id="absent-header",
        ),
        pytest.param(
            "accept;;host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version",
            id="empty-name",
        ),
    ],
)
def test_malformed_signed_headers_are_incomplete(signed_headers: str) -> None:
    # Twice: a list's validation is cached, and a refused one must be refused again the same way.
    messages = []
    for _ in range(2):
        with pytest.raises(AuthError) as caught:
            verify(v3_request(signed_headers=signed_headers))
        assert caught.value.code == "IncompleteSignature"
        messages.append(caught.value.message)
    assert messages[0] == messages[1]


def test_a_cached_header_list_is_still_checked_against_each_request() -> None:
    # The same SignedHeaders list is fine for one request and names a header absent from the next.
    verify(v3_request())
    with pytest.raises(AuthError) as caught:
        verify(v3_request().without_header("x-acs-version"))
    assert caught.value.code == "IncompleteSignature" and "missing from the request: x-acs-version" in \
        caught.value.message


@pytest.mark.parametrize(
    "authorization",
    [
        "ACS3-HMAC-SHA256 Credential=LTAI5tTestAccessKeyId01,SignedHeaders=host",
        "ACS3-HMAC-SHA256 Credential=LTAI5tTestAccessKeyId01,SignedHeaders=host,Signature=",
        "ACS3-HMAC-SHA256 Credential=A,Credential=B,SignedHeaders=host,Signature=ab",
        "ACS3-HMAC-SHA256 Credential=A,SignedHeaders=host,Signature=ab,Extra=1",
        "ACS3-HMAC-SHA256 Credential=A;SignedHeaders=host;Signature=ab",
        "ACS3-HMAC-SHA256 garbage",
        "ACS3-HMAC-SHA256",
    ],
)
def test_malformed_authorization_is_incomplete(authorization: str) -> None:
    assert _code(GET_AWKWARD.with_header("Authorization", authorization)) == "IncompleteSignature"


def test_action_header_must_match_the_route() -> None:
    with pytest.raises(AuthError) as caught:
        verify(GET_AWKWARD, expected_action="Personalizedtxt2imgAddModelTrainJob")
    assert (caught.value.code, caught.value.http_status) == ("InvalidAction.Mismatch", 400)


def test_no_expected_action_skips_the_route_check() -> None:
    verify(GET_AWKWARD, expected_action=None)


def test_version_header_must_be_the_api_version() -> None:
    assert _code(v3_request(extra=(("x-acs-version", "2022-01-01"),))) == "InvalidVersion"


def test_mismatch_message_carries_the_servers_string_to_sign() -> None:
    with pytest.raises(AuthError) as caught:
        verify(replace(GET_AWKWARD, target=GET_AWKWARD.target + "&x=1"))
    string_to_sign = caught.value.message.split(":", 1)[1]
    algorithm, digest = string_to_sign.split("\n")
    assert algorithm == "ACS3-HMAC-SHA256"
    assert len(digest) == 64
