"""Downloading a trained adapter through downloadModel: the stored safetensors file with its metadata,
raw or Base64, through both SDKs' generic calls."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
from alibabacloud_tea_openapi.exceptions import ClientException
from apikit import Server
from generic import call_new, call_old
from safetensors import safe_open

from imprint.service.downloads import FORMATS


def _download(server: Server, **query: str) -> dict:
    return call_new(
        server,
        "Personalizedtxt2imgDownloadModel",
        "downloadModel",
        method="GET",
        body_type="byte",
        query=query,
    )


def test_download_the_adapter_file(server: Server, trained_model: str, tmp_path: Path) -> None:
    resp = _download(server, modelId=trained_model)
    data = resp["body"]
    headers = {k.lower(): v for k, v in resp["headers"].items()}
    assert headers["content-type"] == "application/octet-stream"
    assert headers["content-disposition"] == f'attachment; filename="{trained_model}.safetensors"'
    with server.runtime.services.sessions() as session:
        from imprint.service.training import find_model_row

        row = find_model_row(session, account_id=_account(server), model_id=trained_model)
        assert hashlib.sha256(data).hexdigest() == row.adapter_sha256
    path = tmp_path / "adapter.safetensors"
    path.write_bytes(data)
    with safe_open(str(path), "pt") as f:
        meta, names = f.metadata(), f.keys()
        assert meta["object_type"] == "dog" and any("lora" in k for k in names)
    # Base64, as the image operations offer it, and through the old SDK's CommonRequest.
    b64 = call_old(
        server,
        "Personalizedtxt2imgDownloadModel",
        "downloadModel",
        method="GET",
        query={"modelId": trained_model, "encodeFormat": "base64"},
    )
    assert base64.b64decode(b64) == data
    assert _download(server, modelId=trained_model, format="safetensors")["body"] == data


def test_download_refusals(server: Server, trained_model: str, image_urls: list[str]) -> None:
    for query, code, status, word in [
        ({"modelId": trained_model, "format": "onnx"}, "B_PARAMETER_INVALID_EXCEPTION", 400, "format"),
        (
            {"modelId": trained_model, "encodeFormat": "hex"},
            "B_PARAMETER_INVALID_EXCEPTION",
            400,
            "encodeFormat",
        ),
        ({"modelId": "dog_missing"}, "B_MODEL_TRAIN_JOB_NOT_EXIST", 404, "dog_missing"),
        ({}, "B_PARAMETER_NOT_FOUND_EXCEPTION", 400, "modelId"),
    ]:
        with pytest.raises(ClientException) as err:
            _download(server, **query)
        assert (err.value.code, err.value.status_code) == (code, status) and word in err.value.message
    queued = call_new(
        server,
        "Personalizedtxt2imgAddModelTrainJob",
        "addModelTrainJob",
        body={"name": "later", "objectType": "dog", "imageUrl": image_urls, "trainSteps": 2},
    )["body"]["data"]["modelId"]
    with pytest.raises(ClientException) as err:
        _download(server, modelId=queued)
    assert err.value.code == "B_MODEL_TRAIN_JOB_NOT_FINISHED"


def test_export_formats(server: Server, trained_model: str) -> None:
    """kohya and diffusers: the files of imprint.engine.export.export_adapter, as one zip."""
    import io
    import zipfile

    from imprint.engine.export import export_adapter

    assert FORMATS == ("safetensors", "kohya", "diffusers")
    stored = _download(server, modelId=trained_model)["body"]
    for fmt in ("kohya", "diffusers"):
        resp = _download(server, modelId=trained_model, format=fmt)
        expected = export_adapter(stored, fmt=fmt, base_model=server.runtime.settings.base_model_source)
        headers = {k.lower(): v for k, v in resp["headers"].items()}
        if len(expected) == 1:
            assert resp["body"] == next(iter(expected.values()))
        else:
            assert headers["content-type"] == "application/zip"
            assert headers["content-disposition"] == f'attachment; filename="{trained_model}.zip"'
            with zipfile.ZipFile(io.BytesIO(resp["body"])) as archive:
                got = {n: archive.read(n) for n in archive.namelist()}
            assert got.keys() == expected.keys()
            for name, content in got.items():
                assert _same_file(name, content, expected[name]), name


def _same_file(name: str, a: bytes, b: bytes) -> bool:
    """safetensors files by their tensors and metadata (the header's key order is not fixed)."""
    if not name.endswith(".safetensors"):
        return a == b
    from safetensors.torch import load

    ta, tb = load(a), load(b)
    header = [json.loads(x[8:8 + int.from_bytes(x[:8], "little")]).get("__metadata__") for x in (a, b)]
    return ta.keys() == tb.keys() and all(ta[k].equal(tb[k]) for k in ta) and header[0] == header[1]


def _account(server: Server) -> str:
    from imprint.store.rows import AccessKeyRow

    with server.runtime.services.sessions() as session:
        row = session.get(AccessKeyRow, server.access_key_id)
        assert row is not None
        return row.account_id


def test_several_export_files_are_sent_as_one_zip() -> None:
    import io
    import zipfile

    from imprint.api.downloads import download_response
    from imprint.service.downloads import AdapterDownload

    files = {"dog_1.safetensors": b"lora", "dog_1.embedding.safetensors": b"token", "README.txt": b"use <s1>"}
    resp = download_response(AdapterDownload("dog_1", files), None, request_id="r")
    assert resp.media_type == "application/zip"
    assert resp.headers["content-disposition"] == 'attachment; filename="dog_1.zip"'
    with zipfile.ZipFile(io.BytesIO(resp.body)) as archive:
        assert {name: archive.read(name) for name in archive.namelist()} == files
