"""The AiContent response envelope, built here and nowhere else.

Errors carry the envelope *and* the gateway keys Code/Message/RequestId, because the SDKs read only
the latter on failures (signing.md section 10.3)."""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response

from imprint.api.error_map import WireError

JSON = "application/json;charset=utf-8"


def _dump(payload: dict[str, Any]) -> bytes:
    # A lone surrogate (in a row written before the API refused them) can only be inside a JSON
    # string, where backslashreplace's \udXXX is exactly JSON's escape for it: the reply stays valid.
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "backslashreplace")


def success(data: Any, request_id: str, *, notice: tuple[str, str] | None = None) -> Response:
    """`notice` puts a finished job's failure status and reason where the SDK models can read them."""
    err_code, err_message = notice if notice else (None, None)
    payload = {"requestId": request_id, "success": True, "errCode": err_code, "errMessage": err_message,
               "httpStatusCode": 200, "data": data}
    return Response(_dump(payload), 200, media_type=JSON, headers={"x-acs-request-id": request_id})


def failure(status: int, code: str, message: str, request_id: str, *, extra: dict[str, Any] | None = None,
            headers: dict[str, str] | None = None) -> Response:
    payload = {"requestId": request_id, "success": False, "errCode": code, "errMessage": message,
               "httpStatusCode": status, "data": None, "RequestId": request_id, "Code": code,
               "Message": message, **(extra or {})}
    return Response(_dump(payload), status, media_type=JSON,
                    headers={"x-acs-request-id": request_id, **(headers or {})})


def error(wire: WireError, request_id: str) -> Response:
    return failure(wire.status, wire.code, wire.message, request_id, extra=wire.extra, headers=wire.headers)
