"""ROA HMAC-SHA1 verification: tampering, Content-MD5, signature-method headers, Date, Authorization."""

from dataclasses import replace
from typing import Any

import pytest
from authkit import Req, load_captures, roa_request, verify

from imprint.auth import AuthError

CAPTURES = load_captures()
NEW_SDK_GET = CAPTURES[18]  # new SDK v2 mode, awkward query value, with nonce
NEW_SDK_POST = CAPTURES[16]  # new SDK v2 mode, body without Content-MD5
OLD_SDK_POST = CAPTURES[47]  # old SDK, JSON body with Content-MD5


def _code(request: Req, **kwargs: Any) -> str:
    with pytest.raises(AuthError) as caught:
        verify(request, **kwargs)
    return caught.value.code


def test_fixture_captures_are_what_the_tests_assume() -> None:
    assert NEW_SDK_GET.scheme == NEW_SDK_POST.scheme == OLD_SDK_POST.scheme == "acs"
    assert NEW_SDK_GET.header("x-acs-signature-nonce") and "%2F" in NEW_SDK_GET.target
    assert NEW_SDK_POST.body and NEW_SDK_POST.header("content-md5") is None
    assert OLD_SDK_POST.header("content-md5") and OLD_SDK_POST.header("x-acs-signature-nonce") is None


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda r: replace(r, target=r.target.replace("model-42", "model-43")), id="query-value"),
        pytest.param(lambda r: replace(r, target=r.target + "&extra=1"), id="query-added"),
        pytest.param(
            lambda r: replace(r, target=r.target.replace("/queryImageAsset", "/queryImageAssetX")), id="path"
        ),
        pytest.param(lambda r: replace(r, method="POST"), id="method"),
        pytest.param(lambda r: r.with_header("accept", "text/xml"), id="accept"),
        pytest.param(lambda r: r.with_header("x-acs-signature-nonce", "0" * 32), id="x-acs-header"),
        pytest.param(lambda r: r.with_header("x-acs-region-id", "cn-beijing"), id="x-acs-header-added"),
        pytest.param(lambda r: r.with_header("date", "Wed, 25 Nov 2026 08:38:15 GMT"), id="date"),
    ],
)
def test_tampered_request_fails(tamper) -> None:
    assert _code(tamper(NEW_SDK_GET), expected_action=None) == "SignatureDoesNotMatch"


def test_equivalent_wire_form_of_the_query_verifies() -> None:
    verify(replace(NEW_SDK_GET, target=NEW_SDK_GET.target.replace("+", "%20").replace("%2A", "*")))


def test_old_sdk_body_is_protected_by_content_md5() -> None:
    tampered = replace(OLD_SDK_POST, body=OLD_SDK_POST.body.replace(b"400", b"900"))
    assert _code(tampered) == "SignatureDoesNotMatch"


def test_dropping_content_md5_fails() -> None:
    assert _code(OLD_SDK_POST.without_header("Content-MD5")) == "SignatureDoesNotMatch"


def test_content_type_is_signed() -> None:
    assert _code(OLD_SDK_POST.with_header("Content-Type", "text/plain")) == "SignatureDoesNotMatch"


def test_new_sdk_v2_body_is_not_covered_by_the_signature() -> None:
    # Documents a protocol limit (signing.md §3.2): this mode signs no body hash at all.
    verify(replace(NEW_SDK_POST, body=NEW_SDK_POST.body.replace(b"400", b"900")))


def test_empty_content_type_retry_is_only_for_bodiless_requests() -> None:
    async_get = CAPTURES[29]  # signed with an empty Content-Type, sent with application/octet-stream
    assert async_get.header("content-type") == "application/octet-stream" and not async_get.body
    verify(async_get)
    assert _code(replace(async_get, body=b"smuggled")) == "SignatureDoesNotMatch"


def test_fresh_old_style_request_without_nonce_verifies() -> None:
    verify(roa_request(nonce=False))


@pytest.mark.parametrize(
    ("header", "value"),
    [("x-acs-signature-method", "HMAC-SHA256"), ("x-acs-signature-version", "2.0")],
)
def test_other_signature_methods_are_refused(header: str, value: str) -> None:
    assert _code(roa_request(extra=((header, value),))) == "InvalidSignatureMethod"


@pytest.mark.parametrize(
    "authorization",
    ["acs LTAI5tTestAccessKeyId01", "acs :c2ln", "acs LTAI5tTestAccessKeyId01:", "acs a b:c2ln"],
)
def test_malformed_authorization_is_incomplete(authorization: str) -> None:
    assert _code(NEW_SDK_GET.with_header("authorization", authorization)) == "IncompleteSignature"


@pytest.mark.parametrize(
    "date",
    [
        "Wed, 25 Nov 2026 08:38:16 UTC",
        "Thu, 25 Nov 2026 08:38:16 GMT",
        "Mi, 25 Nov 2026 08:38:16 GMT",
        "2026-11-25T08:38:16Z",
        "",
    ],
)
def test_malformed_date_is_refused(date: str) -> None:
    request = NEW_SDK_GET.with_header("date", date)
    assert _code(request, now=NEW_SDK_GET.signed_at) == "InvalidTimeStamp.Format"


def test_missing_date_is_refused() -> None:
    assert _code(NEW_SDK_GET.without_header("date"), now=NEW_SDK_GET.signed_at) == "InvalidTimeStamp.Format"


def test_mismatch_message_survives_the_old_sdk_colon_split() -> None:
    with pytest.raises(AuthError) as caught:
        verify(replace(OLD_SDK_POST, target=OLD_SDK_POST.target + "&x=1"))
    message = caught.value.message
    assert message.split(":")[1].startswith("POST\napplication/json\n")
    assert message.split(":", 1)[1].endswith("/addModelTrainJob?RegionId=cn-shanghai&x=1")
