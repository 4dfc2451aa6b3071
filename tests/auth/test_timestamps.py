from datetime import UTC, datetime, timedelta

import pytest

from imprint.auth import AuthError
from imprint.auth.timestamps import check_freshness, parse_acs_date, parse_http_date

MOMENT = datetime(2026, 11, 25, 8, 38, 16, tzinfo=UTC)


def test_parse_acs_date() -> None:
    assert parse_acs_date("2026-11-25T08:38:16Z") == MOMENT


def test_parse_http_date() -> None:
    assert parse_http_date("Wed, 25 Nov 2026 08:38:16 GMT") == MOMENT


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "2026-11-25T08:38:16+00:00",
        "2026-02-30T08:38:16Z",
        " 2026-11-25T08:38:16Z",
        "２０２６-11-25T08:38:16Z",
    ],
)
def test_bad_acs_dates(value: str | None) -> None:
    for _ in range(2):  # parsed values are cached; a refused one is refused every time
        with pytest.raises(AuthError) as caught:
            parse_acs_date(value)
        assert caught.value.code == "InvalidTimeStamp.Format"


@pytest.mark.parametrize(
    "value",
    [
        None,
        "Wed, 25 Nov 2026 08:38:16",
        "wed, 25 Nov 2026 08:38:16 GMT",
        "Wed, 25 nov 2026 08:38:16 GMT",
        "Wed, 25 Noi 2026 08:38:16 GMT",
        "Wed, 31 Nov 2026 08:38:16 GMT",
        "Fri, 25 Nov 2026 08:38:16 GMT",
        "Wednesday, 25-Nov-26 08:38:16 GMT",
        "Wed, 25 Nov 2026 08:38:16 +0000",
    ],
)
def test_bad_http_dates(value: str | None) -> None:
    with pytest.raises(AuthError) as caught:
        parse_http_date(value)
    assert caught.value.code == "InvalidTimeStamp.Format"


@pytest.mark.parametrize(
    ("offset", "fresh"),
    [(0, True), (900, True), (-900, True), (901, False), (-901, False)],
)
def test_check_freshness(offset: int, fresh: bool) -> None:
    now = MOMENT + timedelta(seconds=offset)
    if fresh:
        check_freshness(MOMENT, now)
    else:
        with pytest.raises(AuthError) as caught:
            check_freshness(MOMENT, now)
        assert caught.value.code == "InvalidTimeStamp.Expired"
