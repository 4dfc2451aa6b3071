"""The OpenAPI 3.1 document, built from the operations table and the declared parameters."""

from __future__ import annotations

from typing import Any

from imprint import __version__
from imprint.api.openapi.declarations import DECLARATIONS, SCHEMAS, Declaration, Param
from imprint.api.operations import OPERATIONS, Operation

ERROR: dict[str, Any] = {
    "type": "object",
    "required": ["requestId", "success", "errCode", "errMessage", "httpStatusCode", "data", "Code",
                 "Message"],
    "properties": {
        "requestId": {"type": "string"}, "success": {"const": False}, "errCode": {"type": "string"},
        "errMessage": {"type": "string"}, "httpStatusCode": {"type": "integer"}, "data": {"type": "null"},
        "RequestId": {"type": "string"}, "Code": {"type": "string"}, "Message": {"type": "string"},
    },
}
ERRORS = {
    "400": "A parameter is missing or invalid (the message names it), or the signature is wrong.",
    "403": "RAM policies do not allow this action for the caller.",
    "404": "The model, job or image does not exist for this account, or the AccessKey is unknown.",
    "405": "The path exists with another method.",
    "413": "The body is over its limit: 1 MiB, or 20 MB for the photo of uploadImage.",
    "429": "The AccessKey is over its request rate; Retry-After says when to come back.",
}
SIGNING = (
    "Every operation is signed as Alibaba Cloud's V3 signature (ACS3-HMAC-SHA256, or ACS3-HMAC-SM3) or "
    "the ROA HMAC-SHA1 signature with an imprint AccessKey: the official AiContent SDKs do it; the "
    "headers x-acs-action (the operation's action), x-acs-version 20240611, x-acs-date, "
    "x-acs-signature-nonce and x-acs-content-sha256 are signed. POST parameters go in a JSON body (or "
    "a form field `body` holding the JSON); GET parameters in the query string."
)


def _envelope(data: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": ["requestId", "success", "httpStatusCode", "data"],
            "properties": {"requestId": {"type": "string"}, "success": {"const": True},
                           "errCode": {"type": ["string", "null"], "description":
                                       "A finished job's failure status, else null."},
                           "errMessage": {"type": ["string", "null"]}, "httpStatusCode": {"const": 200},
                           "data": data}}


def _success(decl: Declaration) -> dict[str, Any]:
    if decl.result is None:
        content = {media: {"schema": {"type": "string", "contentEncoding": "base64"} if media == "text/plain"
                           else {"type": "string", "contentMediaType": media}} for media in decl.files}
        return {"description": "The file itself, or its Base64 text with encodeFormat=base64.",
                "content": content}
    return {"description": "The result in the AiContent envelope.",
            "content": {"application/json": {"schema": _envelope(decl.result)}}}


def _body(params: tuple[Param, ...]) -> dict[str, Any]:
    properties = {p.name: {**p.schema, **({"description": p.description} if p.description else {})}
                  for p in params}
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    required = [p.name for p in params if p.required]
    if required:
        schema["required"] = required
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _query(params: tuple[Param, ...]) -> list[dict[str, Any]]:
    return [{"name": p.name, "in": "query", "required": p.required, "schema": p.schema,
             **({"description": p.description} if p.description else {})} for p in params]


def operation_object(op: Operation, decl: Declaration) -> dict[str, Any]:
    responses: dict[str, Any] = {"200": _success(decl), **decl.extra_responses}
    for status, text in ERRORS.items():
        error = {"schema": {"$ref": "#/components/schemas/Error"}}
        responses[status] = {"description": text, "content": {"application/json": error}}
    item: dict[str, Any] = {
        "operationId": op.action, "summary": decl.summary, "tags": list(decl.tags),
        "description": f"RAM action `{op.ram_action}`; send `x-acs-action: {op.action}`.",
        "responses": responses,
    }
    if op.raw_body:
        item["requestBody"] = {"required": True, "description": "The photo's bytes.", "content": {
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}
    elif op.method == "POST":
        item["requestBody"] = _body(decl.params)
    elif decl.params:
        item["parameters"] = _query(decl.params)
    return item


def build_document(operations: tuple[Operation, ...] = OPERATIONS) -> dict[str, Any]:
    missing = [op.action for op in operations if op.action not in DECLARATIONS]
    if missing:
        raise LookupError(f"operations without a declaration in api/openapi/declarations.py: {missing}")
    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        paths.setdefault(op.path, {})[op.method.lower()] = operation_object(op, DECLARATIONS[op.action])
    return {
        "openapi": "3.1.0",
        "info": {"title": "imprint personalized text-to-image API", "version": __version__,
                 "summary": "Wire-compatible with Alibaba Cloud AIContent personalizedtxt2img (20240611).",
                 "description": SIGNING},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": {**SCHEMAS, "Error": ERROR},
            "securitySchemes": {"acs3": {"type": "apiKey", "in": "header", "name": "Authorization",
                                         "description": SIGNING}},
        },
        "security": [{"acs3": []}],
    }
