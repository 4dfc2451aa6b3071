"""Strict parsing of the two request-date formats and the freshness window."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import lru_cache

from imprint.auth.credentials import TIMESTAMP_WINDOW
from imprint.auth.errors import TIMESTAMP_EXPIRED, TIMESTAMP_FORMAT, AuthError

# re.ASCII: \d would otherwise accept any Unicode digit, e.g. full-width ones.
_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z", re.ASCII)
_RFC1123 = re.compile(
    r"([A-Z][a-z]{2}), (\d{2}) ([A-Z][a-z]{2}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT", re.ASCII
)
# Spelled out because strftime/strptime names follow the C locale, and SDK dates are always English.
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def as_utc(moment: datetime) -> datetime:
    """Naive datetimes are taken to be UTC, so callers may pass either kind."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _bad(header: str, value: str | None) -> AuthError:
    message = f"Specified time stamp or date value is not well formatted: {header}={value!r}."
    return AuthError(TIMESTAMP_FORMAT, message)


def parse_acs_date(value: str | None) -> datetime:
    """``x-acs-date`` of ACS3 requests: ``YYYY-MM-DDTHH:MM:SSZ``, UTC, whole seconds."""
    if value is not None and len(value) == 20:  # the only length a valid value has
        return _parse_acs_date_cached(value)
    return _parse_acs_date(value)


def _parse_acs_date(value: str | None) -> datetime:
    match = _ISO.fullmatch(value or "")
    if match is None:
        raise _bad("x-acs-date", value)
    try:
        year, month, day, hour, minute, second = (int(part) for part in match.groups())
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError as exc:
        raise _bad("x-acs-date", value) from exc


# Requests signed in the same second carry the same date, so most parse a value just parsed; the
# function is pure, and a malformed value raises and is never cached.
_parse_acs_date_cached = lru_cache(maxsize=64)(_parse_acs_date)


def parse_http_date(value: str | None) -> datetime:
    """``Date`` of ROA requests: RFC 1123, e.g. ``Wed, 25 Nov 2026 08:38:16 GMT``."""
    match = _RFC1123.fullmatch(value or "")
    if match is None or match[1] not in _DAYS or match[3] not in _MONTHS:
        raise _bad("Date", value)
    try:
        moment = datetime(
            int(match[4]),
            _MONTHS.index(match[3]) + 1,
            int(match[2]),
            int(match[5]),
            int(match[6]),
            int(match[7]),
            tzinfo=UTC,
        )
    except ValueError as exc:
        raise _bad("Date", value) from exc
    if _DAYS[moment.weekday()] != match[1]:
        raise _bad("Date", value)
    return moment


def check_freshness(signed_at: datetime, now: datetime) -> None:
    """Allow the documented 15 minutes in both directions, since both SDKs use the client's clock."""
    if abs(as_utc(now) - signed_at) > TIMESTAMP_WINDOW:
        raise AuthError(TIMESTAMP_EXPIRED, "Specified time stamp or date value is expired.")
