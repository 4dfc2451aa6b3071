"""The one place that turns exceptions into HTTP statuses and Alibaba error codes."""

from __future__ import annotations

import logging

from imprint.auth.errors import AuthError
from imprint.service import errors as e

log = logging.getLogger(__name__)

STATUS: dict[type[e.DomainError], int] = {
    e.MissingParameter: 400,
    e.InvalidParameter: 400,
    e.MalformedBody: 400,
    e.ModelNotReady: 400,
    e.ModelNotFound: 404,
    e.InferenceJobNotFound: 404,
    e.DataNotFound: 404,
}

UNKNOWN = (500, "UNKNOWN_ERROR", "The request processing has failed due to some unknown error.")


class RouteError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def to_http(exc: BaseException) -> tuple[int, str, str]:
    if isinstance(exc, AuthError):
        return exc.http_status, exc.code, exc.message
    if isinstance(exc, RouteError):
        return exc.status, exc.code, exc.message
    if isinstance(exc, e.DomainError) and type(exc) in STATUS:
        return STATUS[type(exc)], exc.code, exc.message
    # Anything else is a bug: logged with its traceback here, never sent to the caller.
    log.error("unhandled error", exc_info=exc)
    return UNKNOWN
