import pytest

from imprint.auth import AuthError
from imprint.auth import errors as codes


@pytest.mark.parametrize(
    ("code", "status"),
    [
        (codes.ACCESS_KEY_NOT_FOUND, 404),
        (codes.ACCESS_KEY_INACTIVE, 400),
        (codes.SIGNATURE_DOES_NOT_MATCH, 400),
        (codes.INCOMPLETE_SIGNATURE, 400),
        (codes.TIMESTAMP_EXPIRED, 400),
        (codes.NONCE_USED, 400),
        (codes.TOKEN_EXPIRED, 400),
        (codes.MISSING_AUTHORIZATION, 400),
        (codes.ACTION_MISMATCH, 400),
    ],
)
def test_default_statuses(code: str, status: int) -> None:
    assert AuthError(code, "m").http_status == status


def test_explicit_status_wins() -> None:
    assert AuthError(codes.ACCESS_KEY_NOT_FOUND, "m", http_status=400).http_status == 400


def test_signature_mismatch_message_keeps_the_gateway_colon_form() -> None:
    error = AuthError.signature_mismatch("GET\napplication/json\n\n\nWed, 25 Nov 2026 08:38:16 GMT\n/p")
    assert error.code == "SignatureDoesNotMatch"
    assert error.message == (
        "Specified signature does not match our calculation. server string to sign is:"
        "GET\napplication/json\n\n\nWed, 25 Nov 2026 08:38:16 GMT\n/p"
    )
    # What the old core SDK does with it (aliyunsdkcore/client.py): must not raise IndexError.
    assert error.message.split(":")[1].startswith("GET\n")


def test_str_and_repr_name_the_code() -> None:
    error = AuthError(codes.NONCE_USED, "again")
    assert str(error) == "SignatureNonceUsed: again"
    assert "SignatureNonceUsed" in repr(error) and "400" in repr(error)
