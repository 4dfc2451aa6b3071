"""Every request the official SDKs signed (tests/auth/data, see signing.md §9) against the verifier."""

from collections import Counter
from dataclasses import replace

import pytest
from authkit import ACCOUNT, AKID, SECRET, USER, WRONG_SECRET, Req, key_for, load_captures, verify

from imprint.auth import AuthError
from imprint.auth.acs3 import Acs3Verifier
from imprint.auth.errors import SIGNATURE_MISMATCH_PREFIX
from imprint.auth.roa import RoaVerifier
from imprint.auth.verifier import SignedRequest

CAPTURES = load_captures()
UNSUPPORTED = {"ACS3-RSA-SHA256", None}
SIGNED = [c for c in CAPTURES if c.scheme not in UNSUPPORTED]


def _id(capture: Req) -> str:
    return f"{capture.index}-{capture.scheme}-{capture.method}-{capture.path.rsplit('/', 1)[-1]}"


def _signed_request(capture: Req) -> SignedRequest:
    return SignedRequest.from_wire(
        method=capture.method, raw_target=capture.target, headers=capture.headers, body=capture.body
    )


def test_capture_file_holds_every_scheme() -> None:
    assert Counter(c.scheme for c in CAPTURES) == {
        "acs": 57,
        "ACS3-HMAC-SHA256": 30,
        "ACS3-HMAC-SM3": 15,
        "ACS3-RSA-SHA256": 1,
        None: 1,
    }


@pytest.mark.parametrize("capture", SIGNED, ids=_id)
def test_capture_verifies_with_the_right_secret(capture: Req) -> None:
    principal = verify(capture)
    assert principal.account_id == ACCOUNT
    assert principal.user_id == USER
    assert principal.access_key_id == AKID
    assert principal.is_temporary == capture.is_sts


@pytest.mark.parametrize("capture", SIGNED, ids=_id)
def test_capture_fails_with_a_one_character_different_secret(capture: Req) -> None:
    with pytest.raises(AuthError) as caught:
        verify(capture, key=replace(key_for(capture), secret=WRONG_SECRET))
    assert caught.value.code == "SignatureDoesNotMatch"
    assert caught.value.http_status == 400
    assert caught.value.message.startswith(SIGNATURE_MISMATCH_PREFIX)


def test_rsa_capture_is_refused_as_an_unsupported_method() -> None:
    (rsa,) = [c for c in CAPTURES if c.scheme == "ACS3-RSA-SHA256"]
    with pytest.raises(AuthError) as caught:
        verify(rsa)
    assert (caught.value.code, caught.value.http_status) == ("InvalidSignatureMethod", 400)


def test_bearer_token_capture_has_no_authorization() -> None:
    (bearer,) = [c for c in CAPTURES if c.scheme is None]
    with pytest.raises(AuthError) as caught:
        verify(bearer)
    assert caught.value.code == "MissingAuthorization"
    assert "Bearer" in caught.value.message


def test_v3_string_to_sign_matches_the_documented_example() -> None:
    # signing.md §9.2: POST addModelTrainJob with a Chinese JSON body.
    verifier = Acs3Verifier(_signed_request(CAPTURES[1]), "ACS3-HMAC-SHA256", _credentials(CAPTURES[1]))
    (candidate,) = verifier.candidates(SECRET)
    assert candidate.string_to_sign == (
        "ACS3-HMAC-SHA256\n29c3b0b9e7fbf4d58d504a848f11c00dd1de733c55f06bf5c59eb272b886fbd5"
    )
    assert candidate.signature == "d048704c1681608e360dfc6814cd068befc255450ba2d41b53267daec4c83e36"


def test_v3_canonical_query_of_the_awkward_value() -> None:
    # signing.md §9.3: '+' on the wire is a space, signed as %20; '/', '*', '=', '&', '%' escaped.
    verifier = Acs3Verifier(_signed_request(CAPTURES[3]), "ACS3-HMAC-SHA256", _credentials(CAPTURES[3]))
    query = verifier.canonical_request().split("\n")[2]
    assert query == (
        "encodeFormat=base64&imageId=%E5%9B%BE%E7%89%87%20a%2Bb%2Ac~d%2Fe%3Df%26g%25h"
        "&modelId=model-42&promptId=p-7"
    )


def _credentials(capture: Req) -> str:
    auth = capture.header("authorization")
    assert auth is not None
    return auth.split(" ", 1)[1]


def _matching(capture: Req) -> list[str]:
    verifier = RoaVerifier(_signed_request(capture), _credentials(capture))
    signature = _credentials(capture).split(":", 1)[1]
    return [c.string_to_sign for c in verifier.candidates(SECRET) if c.signature == signature]


def test_roa_old_sdk_empty_value_needs_the_name_equals_form() -> None:
    old = next(
        c for c in CAPTURES if c.target.endswith("queryModelTrainStatus?modelId=&RegionId=cn-shanghai")
    )
    (string_to_sign,) = _matching(old)
    assert string_to_sign.endswith("queryModelTrainStatus?RegionId=cn-shanghai&modelId=")


def test_roa_new_sdk_empty_value_needs_the_bare_name_form() -> None:
    new = next(
        c for c in CAPTURES if c.scheme == "acs" and c.target.endswith("queryModelTrainStatus?modelId=")
    )
    (string_to_sign,) = _matching(new)
    assert string_to_sign.endswith("queryModelTrainStatus?modelId")


def test_roa_async_get_needs_the_empty_content_type_retry() -> None:
    # signing.md §9.8: aiohttp adds an unsigned Content-Type: application/octet-stream.
    async_get = next(
        c
        for c in CAPTURES
        if c.scheme == "acs"
        and c.header("content-type") == "application/octet-stream"
        and c.path.endswith("queryModelTrainStatus")
    )
    (string_to_sign,) = _matching(async_get)
    assert string_to_sign.split("\n")[3] == ""
    assert string_to_sign.endswith("/queryModelTrainStatus?modelId=模型 一号~*")
