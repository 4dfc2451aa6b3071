"""The client-side signer reproduces the SDK's captured signatures (signing.md §9) and passes the
server's own verifier."""

from __future__ import annotations

from datetime import UTC, datetime

from imprint.auth.signer import ClientCredentials, encode_query, sign_acs3

SECRET = "TestAccessKeySecretValue0123456789"
KEY = "LTAI5tTestAccessKeyId01"
PREFIX = "/api/v1/personalizedtxt2img/"
JSON_TYPE = "application/json; charset=utf-8"
WHEN = datetime(2026, 11, 25, 8, 38, 16, tzinfo=UTC)
SDK_HEADERS = {"accept": "application/json",
               "user-agent": "AlibabaCloud (Linux; x86_64) Python/3.11.7 Core/0.4.3 TeaDSL/2"}


def _signature(headers: dict[str, str]) -> str:
    return headers["authorization"].rsplit("Signature=", 1)[1]


def test_post_with_json_body_matches_sdk_capture() -> None:
    body = ('{"imageUrl":["https://example.com/a.png","https://example.com/b 图.png"],'
            '"name":"我的模型 v1","objectType":"dog","trainSteps":400}').encode()
    headers = sign_acs3(method="POST", host="127.0.0.1:18080", path=PREFIX + "addModelTrainJob",
                        query={}, body=body, action="Personalizedtxt2imgAddModelTrainJob",
                        credentials=ClientCredentials(KEY, SECRET), content_type=JSON_TYPE,
                        now=WHEN, nonce="3f2acd1b7ee4081cb2d4b5794525b770",
                        extra=SDK_HEADERS | {"x-acs-credentials-provider": "static_ak"})
    assert _signature(headers) == "d048704c1681608e360dfc6814cd068befc255450ba2d41b53267daec4c83e36"


def test_sts_and_awkward_query_match_sdk_capture() -> None:
    query = {"encodeFormat": "base64", "imageId": "图片 a+b*c~d/e=f&g%h", "modelId": "model-42",
             "promptId": "p-7"}
    headers = sign_acs3(method="GET", host="127.0.0.1:18080", path=PREFIX + "queryImageAsset",
                        query=query, body=b"", action="Personalizedtxt2imgQueryImageAsset",
                        credentials=ClientCredentials(KEY, SECRET, "CAIS-fake-sts-token/+=="),
                        now=WHEN, nonce="db1e8b92475fe20a30c3148a73ba8475",
                        extra=SDK_HEADERS | {"x-acs-credentials-provider": "static_sts"})
    assert _signature(headers) == "cfcb9f334c75a82d7766dc1d6a6598ac7758775f192fcc74faef72ea86324687"
    assert encode_query(query) == ("encodeFormat=base64"
                                   "&imageId=%E5%9B%BE%E7%89%87%20a%2Bb%2Ac~d%2Fe%3Df%26g%25h"
                                   "&modelId=model-42&promptId=p-7")
