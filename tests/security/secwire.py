"""What the attack suite sends: the nine operations with their RAM actions, policy documents, and
an ACS3 signer (written from the public V3 description) that can add a security token."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

import httpx

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
    """A V3 (ACS3-HMAC-SHA256) signature, written from the public description; returns target, headers."""
    headers = {
        "host": host,
        "x-acs-action": action,
        "x-acs-version": "20240611",
        "x-acs-date": (when or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "x-acs-signature-nonce": uuid.uuid4().hex,
        "x-acs-content-sha256": hashlib.sha256(body).hexdigest(),
    }
    if key.token is not None:
        headers["x-acs-security-token"] = key.token
        headers["x-acs-accesskey-id"] = key.access_key_id
    if content_type:
        headers["content-type"] = content_type
    headers.update({k.lower(): v for k, v in (extra or {}).items()})
    names = sorted(headers)
    canonical_query = "&".join(
        f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in sorted(query.items())
    )
    canonical = "\n".join(
        [
            method,
            path,
            canonical_query,
            "".join(f"{n}:{headers[n].strip()}\n" for n in names),
            ";".join(names),
            headers["x-acs-content-sha256"],
        ]
    )
    to_sign = "ACS3-HMAC-SHA256\n" + hashlib.sha256(canonical.encode()).hexdigest()
    signature = hmac.new(key.secret.encode(), to_sign.encode(), hashlib.sha256).hexdigest()
    headers["Authorization"] = (
        f"ACS3-HMAC-SHA256 Credential={key.access_key_id},"
        f"SignedHeaders={';'.join(names)},Signature={signature}"
    )
    target = path + ("?" + urlencode(query) if query else "")
    return target, headers


def assert_no_leak(resp: httpx.Response) -> None:
    assert resp.status_code < 500, resp.text
    for marker in ("Traceback", 'File "', "sqlalchemy", "Error:", "/src/imprint"):
        assert marker not in resp.text, resp.text
