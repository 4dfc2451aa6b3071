"""The OpenAPI 3.1 document: valid (openapi-spec-validator), built from the operations table (an
operation without a declaration fails here), served unsigned with its reference page; and schemathesis
drives every operation from it against a real (mock-mode) server, each request signed by
tests/signing_kit.py: no 5xx, no status, content type or body the document does not allow."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
import requests
import schemathesis
from apikit import Server
from hypothesis import HealthCheck, Phase, settings
from openapi_spec_validator import validate
from schemathesis import checks
from signing_kit import sign_v3

from imprint.api.openapi.document import build_document
from imprint.api.operations import BY_PATH, OPERATIONS

DOCUMENT = build_document()
schema = schemathesis.openapi.from_dict(DOCUMENT)


def test_the_document_is_valid_openapi_31_covering_every_operation() -> None:
    validate(DOCUMENT)
    assert DOCUMENT["openapi"] == "3.1.0"
    served = {(path, method.upper()) for path, item in DOCUMENT["paths"].items() for method in item}
    assert served == {(op.path, op.method) for op in OPERATIONS}
    ids = {item["operationId"] for entry in DOCUMENT["paths"].values() for item in entry.values()}
    assert ids == {op.action for op in OPERATIONS}


def test_an_undeclared_operation_is_refused() -> None:
    from dataclasses import replace

    stray = replace(OPERATIONS[0], action="Personalizedtxt2imgSomethingNew", path="/x")
    with pytest.raises(LookupError, match="SomethingNew"):
        build_document((*OPERATIONS, stray))


def test_the_document_and_reference_page_are_served_unsigned(mock_server: Server) -> None:
    base = f"http://{mock_server.endpoint}"
    assert httpx.get(f"{base}/openapi.json").json() == DOCUMENT
    page = httpx.get(f"{base}/reference")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'fetch("openapi.json")' in page.text and "://" not in page.text.split("<script>")[1]


class Signed(requests.auth.AuthBase):
    """Signs each prepared request as the SDKs do (ACS3-HMAC-SHA256), whatever schemathesis put in it."""

    def __init__(self, server: Server) -> None:
        self.server = server

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        url = urlsplit(r.url or "")
        body = r.body or b""
        body = body.encode() if isinstance(body, str) else body
        op = BY_PATH.get(url.path)
        target, headers = sign_v3(
            r.method or "GET", url.path, dict(parse_qsl(url.query, keep_blank_values=True)), body,
            action=op.action if op else "Unknown", host=self.server.endpoint,
            access_key_id=self.server.access_key_id, secret=self.server.secret,
            content_type=r.headers.get("content-type"))
        r.url = f"{url.scheme}://{url.netloc}{target}"
        r.headers.update(headers)
        return r


ANSWERS: list[tuple[str, int]] = []
CHECKS = [checks.not_a_server_error, checks.status_code_conformance, checks.content_type_conformance,
          checks.response_schema_conformance]


@schema.parametrize()
@settings(max_examples=12, deadline=None, derandomize=True, database=None,
          phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
def test_every_operation_against_a_real_server(case: schemathesis.Case, mock_server: Server) -> None:
    session = requests.Session()
    session.auth = Signed(mock_server)
    response = case.call(base_url=f"http://{mock_server.endpoint}", session=session)
    case.validate_response(response, checks=CHECKS)
    ANSWERS.append((case.operation.definition.raw["operationId"], response.status_code))
    if response.status_code >= 400 and response.request.method == case.operation.method.upper():
        # The operation's own answer (parameters, missing resources), never a signing failure: the
        # generated requests really reach the handlers.
        assert response.json()["Code"].startswith("B_"), response.text


def test_the_run_reached_the_handlers() -> None:
    """Runs after the schemathesis run above (pytest keeps file order): signed generated calls succeed."""
    ok = {action for action, status in ANSWERS if status == 200}
    assert {"Personalizedtxt2imgQueryModelTrainJobList", "Personalizedtxt2imgAddModelTrainJob",
            "PersonalizedTextToImageAddInferenceJob"} <= ok, [a for a in sorted(set(ANSWERS)) if a[1] == 200]
