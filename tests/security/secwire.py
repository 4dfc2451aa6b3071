"""What the attack suite sends: the nine operations with their RAM actions, policy documents, and
signed requests for any kind of key (through the shared `signing_kit`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from signing_kit import sign_v3

PREFIX = "/api/v1/personalizedtxt2img/"
# op path -> (API action sent as x-acs-action, RAM action a policy names, method)
OPS: dict[str, tuple[str, str, str]] = {
    "addModelTrainJob": (
        "Personalizedtxt2imgAddModelTrainJob",
        "aicontent:Personalizedtxt2imgAddModelTrainJob",
        "POST",
    ),
    "queryModelTrainStatus": (
        "Personalizedtxt2imgQueryModelTrainStatus",
        "aicontent:Personalizedtxt2imgQueryModelTrainStatus",
        "GET",
    ),
    "queryModelTrainJobList": (
        "Personalizedtxt2imgQueryModelTrainJobList",
        "aicontent:Personalizedtxt2imgQueryModelTrainJobList",
        "GET",
    ),
    "addInferenceJob": (
        "Personalizedtxt2imgAddInferenceJob",
        "aicontent:Personalizedtxt2imgAddInferenceJob",
        "POST",
    ),
    "queryInferenceJobInfo": (
        "Personalizedtxt2imgQueryInferenceJobInfo",
        "aicontent:Personalizedtxt2imgQueryInferenceJobInfo",
        "GET",
    ),
    "queryImageAsset": (
        "Personalizedtxt2imgQueryImageAsset",
        "aicontent:Personalizedtxt2imgQueryImageAsset",
        "GET",
    ),
    "addPreModelInferenceJob": (
        "PersonalizedTextToImageAddInferenceJob",
        "aicontent:PersonalizedTextToImageAddPreModelInferenceJob",
        "POST",
    ),
    "queryPreModelInferenceJobInfo": (
        "PersonalizedTextToImageQueryPreModelInferenceJobInfo",
        "aicontent:PersonalizedTextToImageQueryPreModelInferenceJobInfo",
        "GET",
    ),
    "queryImageAssetFromImageId": (
        "PersonalizedTextToImageQueryImageAsset",
        "aicontent:PersonalizedTextToImageQueryImageAsset",
        "GET",
    ),
    # imprint's own operations beyond the contract (docs/api-decisions.md)
    **{
        path: (f"Personalizedtxt2img{name}", f"aicontent:Personalizedtxt2img{name}", method)
        for path, name, method in [
            ("cancelModelTrainJob", "CancelModelTrainJob", "POST"),
            ("cancelInferenceJob", "CancelInferenceJob", "POST"),
            ("deleteModel", "DeleteModel", "POST"),
            ("deleteInferenceJob", "DeleteInferenceJob", "POST"),
            ("downloadModel", "DownloadModel", "GET"),
            ("uploadImage", "UploadImage", "POST"),
        ]
    },
}
ALLOW_ALL = {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "aicontent:*", "Resource": "*"}]}


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "1", "Statement": list(statements)}


@dataclass(frozen=True)
class Key:
    access_key_id: str
    secret: str
    token: str | None = None


def sign(
    method: str,
    path: str,
    query: dict[str, str],
    body: bytes,
    *,
    action: str,
    host: str,
    key: Key,
    content_type: str | None = None,
    extra: dict[str, str] | None = None,
    when: datetime | None = None,
) -> tuple[str, dict[str, str]]:
    """A V3 signature with `key`'s id, secret and (for temporary keys) token; returns target, headers."""
    return sign_v3(method, path, query, body, action=action, host=host, access_key_id=key.access_key_id,
                   secret=key.secret, token=key.token, content_type=content_type, extra=extra, when=when)


def assert_no_leak(resp: httpx.Response) -> None:
    assert resp.status_code < 500, resp.text
    for marker in ("Traceback", 'File "', "sqlalchemy", "Error:", "/src/imprint"):
        assert marker not in resp.text, resp.text
