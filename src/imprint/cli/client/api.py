"""The public signed API as the CLI calls it: one method per operation, envelopes unwrapped, errors
raised as ApiError with the server's own code and message."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx

from imprint.auth.signer import ClientCredentials, encode_query, sign_acs3

PREFIX = "/api/v1/personalizedtxt2img/"
JSON_TYPE = "application/json; charset=utf-8"
USER_AGENT = "imprint-cli"


class ApiError(Exception):
    """The server refused the call (or could not be reached); `code` is its error code."""

    def __init__(self, code: str, message: str, status: int | None = None, request_id: str | None = None):
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.status, self.request_id = code, message, status, request_id


@dataclass(frozen=True)
class Reply:
    data: Any
    # A query that succeeded about a job that failed: (status, reason) from errCode/errMessage.
    notice: tuple[str, str] | None = None


class ImprintClient:
    def __init__(self, endpoint: str, credentials: ClientCredentials, *, timeout: float = 60.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.credentials = credentials
        self._http = httpx.Client(base_url=self.endpoint, timeout=timeout, transport=transport,
                                  trust_env=False)
        # What httpx will send as Host (default ports left out), which is what gets signed.
        self._host = httpx.Request("GET", self.endpoint).headers["host"]

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ImprintClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the wire --------------------------------------------------------------------------------
    def request(self, action: str, method: str, name: str, *, query: dict[str, str] | None = None,
                body: bytes = b"", content_type: str | None = None) -> httpx.Response:
        path = PREFIX + name
        query = query or {}
        headers = sign_acs3(method=method, host=self._host, path=path, query=query, body=body, action=action,
                            credentials=self.credentials, content_type=content_type,
                            extra={"accept": "application/json", "user-agent": USER_AGENT})
        target = path + ("?" + encode_query(query) if query else "")
        try:
            return self._http.request(method, target, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise ApiError("ConnectionFailed", f"cannot reach {self.endpoint}: {exc}") from None

    def call(self, action: str, method: str, name: str, *, query: dict[str, str] | None = None,
             json_body: dict[str, Any] | None = None, body: bytes | None = None,
             content_type: str | None = None) -> Reply:
        if json_body is not None:
            body, content_type = json.dumps(json_body).encode("utf-8"), JSON_TYPE
        return _unwrap(self.request(action, method, name, query=query, body=body or b"",
                                    content_type=content_type))

    # --- operations ------------------------------------------------------------------------------
    def upload_image(self, data: bytes) -> dict[str, Any]:
        return dict(self.call("Personalizedtxt2imgUploadImage", "POST", "uploadImage", body=data,
                              content_type="application/octet-stream").data)

    def add_model_train_job(self, *, name: str, object_type: str, image_urls: list[str],
                            train_steps: int | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"name": name, "objectType": object_type, "imageUrl": image_urls}
        if train_steps is not None:
            body["trainSteps"] = train_steps
        return dict(self.call("Personalizedtxt2imgAddModelTrainJob", "POST", "addModelTrainJob",
                              json_body=body).data)

    def train_status(self, model_id: str) -> Reply:
        return self.call("Personalizedtxt2imgQueryModelTrainStatus", "GET", "queryModelTrainStatus",
                         query={"modelId": model_id})

    def list_models(self) -> list[dict[str, Any]]:
        return list(self.call("Personalizedtxt2imgQueryModelTrainJobList", "GET",
                              "queryModelTrainJobList").data)

    def add_inference_job(self, body: dict[str, Any]) -> dict[str, Any]:
        return dict(self.call("Personalizedtxt2imgAddInferenceJob", "POST", "addInferenceJob",
                              json_body=body).data)

    def inference_job(self, job_id: str) -> Reply:
        return self.call("Personalizedtxt2imgQueryInferenceJobInfo", "GET", "queryInferenceJobInfo",
                         query={"inferenceJobId": job_id})

    def cancel_model_train_job(self, model_id: str) -> dict[str, Any]:
        return dict(self.call("Personalizedtxt2imgCancelModelTrainJob", "POST", "cancelModelTrainJob",
                              json_body={"modelId": model_id}).data)

    def cancel_inference_job(self, job_id: str) -> dict[str, Any]:
        return dict(self.call("Personalizedtxt2imgCancelInferenceJob", "POST", "cancelInferenceJob",
                              json_body={"inferenceJobId": job_id}).data)

    def delete_model(self, model_id: str) -> dict[str, Any]:
        return dict(self.call("Personalizedtxt2imgDeleteModel", "POST", "deleteModel",
                              json_body={"modelId": model_id}).data)

    def download_model(self, model_id: str, fmt: str) -> tuple[str, bytes]:
        """The file name the server gives (Content-Disposition) and the bytes."""
        response = self.request("Personalizedtxt2imgDownloadModel", "GET", "downloadModel",
                                query={"modelId": model_id, "format": fmt})
        disposition = response.headers.get("content-disposition", "")
        if response.status_code != 200 or "filename=" not in disposition:
            _unwrap(response)
            raise ApiError("UnexpectedResponse", f"the download of {model_id} came back without a file",
                           response.status_code)
        name = disposition.split("filename=", 1)[1].strip().strip('"')
        return name, response.content

    def image(self, *, model_id: str, prompt_id: str, image_id: str) -> bytes:
        response = self.request("Personalizedtxt2imgQueryImageAsset", "GET", "queryImageAsset",
                                query={"modelId": model_id, "promptId": prompt_id, "imageId": image_id})
        if response.status_code != 200 or not response.headers.get("content-type", "").startswith("image/"):
            _unwrap(response)
            raise ApiError("UnexpectedResponse", f"image {image_id} came back as "
                           f"{response.headers.get('content-type')}", response.status_code)
        return response.content


def _unwrap(response: httpx.Response) -> Reply:
    try:
        envelope = response.json()
    except ValueError:
        raise ApiError("UnexpectedResponse", f"HTTP {response.status_code} without a JSON body from the "
                       "server; is the endpoint an imprint server?", response.status_code) from None
    if not isinstance(envelope, dict):
        raise ApiError("UnexpectedResponse", "the server's answer is not a JSON object", response.status_code)
    request_id = envelope.get("requestId") or envelope.get("RequestId")
    if response.status_code >= 400 or envelope.get("success") is False:
        raise ApiError(str(envelope.get("Code") or envelope.get("errCode") or f"HTTP{response.status_code}"),
                       str(envelope.get("Message") or envelope.get("errMessage") or response.reason_phrase),
                       response.status_code, request_id)
    notice = None
    if envelope.get("errCode"):
        notice = (str(envelope["errCode"]), str(envelope.get("errMessage") or ""))
    return Reply(envelope.get("data"), notice)
