"""The one place that turns exceptions into HTTP statuses and Alibaba error codes."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any

from imprint.auth.authorize import AccessDenied
from imprint.auth.errors import AuthError
from imprint.queue.base import QueueUnavailable
from imprint.service import errors as e

log = logging.getLogger(__name__)

STATUS: dict[type[e.DomainError], int] = {
    e.MissingParameter: 400,
    e.InvalidParameter: 400,
    e.MalformedBody: 400,
    e.ModelNotReady: 400,
    e.JobAlreadyEnded: 400,
    e.ModelNotFound: 404,
    e.InferenceJobNotFound: 404,
    e.DataNotFound: 404,
    e.KeyNotFound: 404,
    e.AccountNotFound: 404,
    e.WebhookNotFound: 404,
    e.UserNotFound: 404,
    e.PolicyNotFound: 404,
    e.AlreadyExists: 409,
    e.DeleteConflict: 409,
    e.MalformedPolicy: 400,
}

UNKNOWN = (500, "UNKNOWN_ERROR", "The request processing has failed due to some unknown error.")
THROTTLED = "Throttling.User"
BODY_TOO_LARGE = "B_REQUEST_BODY_TOO_LARGE_EXCEPTION"
QUEUE_RETRY_AFTER_S = 5


@dataclass(frozen=True)
class WireError:
    status: int
    code: str
    message: str
    headers: dict[str, str] = field(default_factory=dict)
    # Keys added to the error body beside the envelope, e.g. AccessDeniedDetail.
    extra: dict[str, Any] = field(default_factory=dict)


class RouteError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class Throttled(Exception):
    def __init__(self, retry_after_s: float) -> None:
        super().__init__(f"retry after {retry_after_s:.3f}s")
        self.retry_after_s = retry_after_s


def _throttled(exc: Throttled) -> WireError:
    # The new SDK raises ThrottlingException only for a positive integer x-acs-retry-after and its
    # retry policy sleeps that many milliseconds; Retry-After (whole seconds) is for everyone else.
    millis = max(1, math.ceil(exc.retry_after_s * 1000))
    seconds = max(1, math.ceil(exc.retry_after_s))
    return WireError(429, THROTTLED, "Request was denied due to user flow control.",
                     headers={"x-acs-retry-after": str(millis), "Retry-After": str(seconds)})


def to_wire(exc: BaseException) -> WireError:
    if isinstance(exc, AuthError):
        return WireError(exc.http_status, exc.code, exc.message)
    if isinstance(exc, AccessDenied):
        return WireError(exc.http_status, exc.code, exc.message, extra={"AccessDeniedDetail": exc.detail})
    if isinstance(exc, Throttled):
        return _throttled(exc)
    if isinstance(exc, QueueUnavailable):
        # Retryable: the job was withdrawn, so sending the same request again is safe.
        return WireError(503, "ServiceUnavailable", "The job queue is unreachable, so no job was submitted; "
                         "retry in a few seconds.", headers={"Retry-After": str(QUEUE_RETRY_AFTER_S)})
    if isinstance(exc, RouteError):
        return WireError(exc.status, exc.code, exc.message)
    if isinstance(exc, e.DomainError) and type(exc) in STATUS:
        return WireError(STATUS[type(exc)], exc.code, exc.message)
    # Anything else is a bug: logged with its traceback here, never sent to the caller.
    log.error("unhandled error", exc_info=exc)
    return WireError(*UNKNOWN)
