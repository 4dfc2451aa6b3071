"""The README's section "Cancel, delete, download, generation controls": both of its examples (the new
SDK's `call_api`, the old SDK's `CommonRequest`) run as printed against a real server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from alibabacloud_aicontent20240611 import models
from alibabacloud_tea_openapi.exceptions import ClientException
from apikit import Server, train_model

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_examples_beyond_the_contract_run_as_printed(
    server: Server, image_urls: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both blocks of "Cancel, delete, download, generation controls", with only the credentials and
    the endpoint swapped in, against a real server: they run and do what they say."""
    text = README.read_text().split("## Cancel, delete, download, generation controls", 1)[1]
    blocks = [b.split("```", 1)[0] for b in text.split("```python")[1:3]]
    monkeypatch.chdir(tmp_path)
    trained_model = train_model(server.new_client(), image_urls, steps=2)  # its own: the example deletes it
    namespace: dict[str, Any] = {"client": server.new_client(), "model_id": trained_model}
    exec(blocks[0], namespace)  # noqa: S102 - the README's own example
    assert (tmp_path / f"{trained_model}.safetensors").read_bytes()[:8]  # the adapter was written
    with pytest.raises(ClientException) as err:  # the job was cancelled, then deleted
        server.new_client().personalizedtxt_2img_query_inference_job_info(
            models.Personalizedtxt2imgQueryInferenceJobInfoRequest(inference_job_id=namespace["job"]["id"]))
    assert err.value.code == "B_INFERENCE_JOB_NOT_EXIST"
    old = (blocks[1].replace('"LTAI..."', repr(server.access_key_id)).replace('"..."', repr(server.secret))
           .replace("127.0.0.1:8080", server.endpoint))
    exec(old, namespace)  # noqa: S102
    with pytest.raises(ClientException) as err:
        server.new_client().personalizedtxt_2img_query_model_train_status(
            models.Personalizedtxt2imgQueryModelTrainStatusRequest(model_id=trained_model))
    assert err.value.code == "B_MODEL_TRAIN_JOB_NOT_EXIST"
