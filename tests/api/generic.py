"""Calling imprint's own operations the way docs/api-decisions.md shows: the new SDK's generic
`call_api` and the old core SDK's `CommonRequest`, both signing as for the nine operations."""

from __future__ import annotations

import json
from typing import Any

from alibabacloud_tea_openapi import utils_models as open_api_util_models
from apikit import Server, wait_for
from darabonba.runtime import RuntimeOptions

PREFIX = "/api/v1/personalizedtxt2img/"


def call_new(
    server: Server,
    action: str,
    path: str,
    *,
    method: str = "POST",
    body: dict[str, Any] | None = None,
    query: dict[str, str] | None = None,
    body_type: str = "json",
    **config: Any,
) -> dict[str, Any]:
    """The new SDK's generic call; returns {"body", "headers", "statusCode"}."""
    params = open_api_util_models.Params(
        action=action,
        version="20240611",
        protocol="HTTP",
        pathname=PREFIX + path,
        method=method,
        auth_type="AK",
        style="ROA",
        req_body_type="json",
        body_type=body_type,
    )
    request = open_api_util_models.OpenApiRequest(body=body, query=query)
    result: dict[str, Any] = server.new_client(**config).call_api(params, request, RuntimeOptions())
    return result


def call_old(
    server: Server,
    action: str,
    path: str,
    *,
    method: str = "POST",
    body: dict[str, Any] | None = None,
    query: dict[str, str] | None = None,
) -> bytes:
    """The old core SDK's CommonRequest (ROA style: it names a URI pattern); returns the raw body."""
    from aliyunsdkcore.request import CommonRequest

    request = CommonRequest(
        domain=server.endpoint,
        version="20240611",
        action_name=action,
        uri_pattern=PREFIX + path,
        product="AiContent",
    )
    request.set_method(method)
    request.set_protocol_type("http")
    for name, value in (query or {}).items():
        request.add_query_param(name, value)
    if body is not None:
        request.set_content(json.dumps(body).encode())
        request.set_content_type("application/json")
    result: bytes = server.old_client().do_action_with_exception(request)
    return result


def finished_inference(server: Server, job_id: str) -> dict[str, Any]:
    """Polls queryInferenceJobInfo through the generic call until the job ends; it must have FINISHED."""
    done = wait_for(
        lambda: call_new(
            server,
            "Personalizedtxt2imgQueryInferenceJobInfo",
            "queryInferenceJobInfo",
            method="GET",
            query={"inferenceJobId": job_id},
        )["body"]["data"],
        lambda d: d["jobStatus"],
        timeout=120,
    )
    assert done["jobStatus"] == "FINISHED", done
    return done
