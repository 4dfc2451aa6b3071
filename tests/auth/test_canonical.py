import pytest

from imprint.auth import AuthError
from imprint.auth.canonical import (
    HeaderMap,
    canonical_query,
    form_decode,
    parse_query,
    rfc3986_encode,
    split_target,
)

AWKWARD = "图片 a+b*c~d/e=f&g%h"


@pytest.mark.parametrize(
    ("raw", "decoded"),
    [
        ("a+b", "a b"),
        ("a%2Bb", "a+b"),
        ("%E5%9B%BE%E7%89%87+a%2Bb%2Ac~d%2Fe%3Df%26g%25h", AWKWARD),
        ("%E5%9B%BE%E7%89%87+a%2Bb*c~d/e%3Df%26g%25h", AWKWARD),  # async client escaping
        ("100%", "100%"),
        ("%zz", "%zz"),
        ("", ""),
    ],
)
def test_form_decode(raw: str, decoded: str) -> None:
    assert form_decode(raw) == decoded


def test_form_decode_rejects_invalid_utf8() -> None:
    with pytest.raises(AuthError) as caught:
        form_decode("%FF")
    assert caught.value.code == "IncompleteSignature"


def test_rfc3986_encode_escapes_everything_but_unreserved() -> None:
    assert rfc3986_encode(AWKWARD) == "%E5%9B%BE%E7%89%87%20a%2Bb%2Ac~d%2Fe%3Df%26g%25h"
    assert rfc3986_encode("AZaz09-_.~") == "AZaz09-_.~"


def test_parse_query_keeps_empty_values_and_order() -> None:
    assert parse_query("b=2&a=&&c&a=1") == [("b", "2"), ("a", ""), ("c", ""), ("a", "1")]
    assert parse_query("") == []


@pytest.mark.parametrize(
    ("target", "parts"),
    [
        ("/p?x=1", ("/p", "x=1")),
        ("/p", ("/p", "")),
        ("/p?", ("/p", "")),
        ("?x=1", ("/", "x=1")),
        ("/p?x=1#frag", ("/p", "x=1")),
        ("/p?x=a?b", ("/p", "x=a?b")),
    ],
)
def test_split_target(target: str, parts: tuple[str, str]) -> None:
    assert split_target(target) == parts


def test_header_map_is_case_insensitive_and_keeps_repeats() -> None:
    headers = HeaderMap([("Content-Type", "a"), ("x-acs-foo", "1"), ("X-ACS-FOO", "2")])
    assert headers.get("content-type") == "a"
    assert headers.get_all("x-acs-foo") == ["1", "2"]
    assert headers.get("X-Acs-Foo") == "1,2"
    assert headers.get("missing") is None
    assert "CONTENT-TYPE" in headers and "missing" not in headers
    assert headers.names() == ["content-type", "x-acs-foo"]


@pytest.mark.parametrize(
    "raw",
    ["b=2&a=1", "imageId=%E5%9B%BE+a%2Bb*c&modelId=m", "a=&&c&a=1", "", "x=" + "y" * 3000, "z=%zz&y=~"],
)
def test_canonical_query_is_the_same_cached_or_not(raw: str) -> None:
    expected = "&".join(f"{rfc3986_encode(k)}={rfc3986_encode(v)}" for k, v in sorted(parse_query(raw)))
    assert canonical_query(raw) == expected
    assert canonical_query(raw) == expected  # the second time from the cache (short ones)


def test_canonical_query_raises_every_time_for_invalid_utf8() -> None:
    for _ in range(2):  # an error is never cached as an answer
        with pytest.raises(AuthError):
            canonical_query("a=%FF")


def test_header_map_from_asgi_matches_the_decoded_pairs() -> None:
    raw = [(b"Content-Type", b"a"), (b"x-acs-foo", b"1"), (b"X-ACS-FOO", b"2"), (b"x-caf\xe9", b"\xe9t\xe9 ")]
    ours = HeaderMap.from_asgi(raw)
    theirs = HeaderMap([(k.decode("latin-1"), v.decode("latin-1")) for k, v in raw])
    assert list(ours) == list(theirs) and ours.names() == theirs.names()
    for name in ("content-type", "x-acs-foo", "X-CAF\xc9", "missing"):
        assert ours.get_all(name) == theirs.get_all(name) and ours.get(name) == theirs.get(name)
    assert list(ours.values("x-acs-foo")) == ["1", "2"] and ours.missing(["x-acs-foo", "nope"]) == ["nope"]
