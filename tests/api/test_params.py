"""The query parser reads every query exactly as ``dict(parse_qsl(..., keep_blank_values=True))``."""

from urllib.parse import parse_qsl

import pytest

from imprint.api.params import parse_query


@pytest.mark.parametrize(
    "raw",
    [
        b"modelId=m-1&promptId=p-2&imageId=0000.png",
        b"a=1&a=2&&b&c=",
        b"",
        b"=x&y==z",
        b"a+b=c+d&e=%2F%20",
        b"img=%E5%9B%BE&bad=%FF%zz",
        "名=值".encode(),
        b"x=\xff",
        b"k;=v;w",
    ],
)
def test_parse_query_matches_parse_qsl(raw: bytes) -> None:
    assert parse_query(raw) == dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
