"""Webhooks end to end: endpoints registered with `imprint webhooks add`, deliveries signed per
Standard Webhooks and verified by the receiver with the `standardwebhooks` package, the receiver down
for a while and imprint restarted in between (nothing lost), a job's own callbackUrl, and the
address vetting."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from alibabacloud_aicontent20240611 import models as m
from alibabacloud_tea_openapi import utils_models as open_api_util_models
from apikit import Server, free_port, running, start_server, wait_for
from darabonba.runtime import RuntimeOptions
from platformkit import Receiver, mock_settings
from typer.testing import CliRunner

from imprint.cli.main import app as cli

runner = CliRunner()


def imprint(*args: str) -> Any:
    result = runner.invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return json.loads(result.output) if "--json" in args else result.output


def _train(server: Server, urls: list[str], **extra: Any) -> str:
    client = server.new_client()
    if not extra:
        resp = client.personalizedtxt_2img_add_model_train_job(m.Personalizedtxt2imgAddModelTrainJobRequest(
            name="my cat", object_type="cat", image_url=urls))
        return resp.body.data.model_id
    # What the SDK model does not declare goes through the generic call, as the README shows.
    params = open_api_util_models.Params(
        action="Personalizedtxt2imgAddModelTrainJob", version="20240611", protocol="HTTP",
        pathname="/api/v1/personalizedtxt2img/addModelTrainJob", method="POST", auth_type="AK", style="ROA",
        req_body_type="json", body_type="json")
    body = {"name": "my cat", "objectType": "cat", "imageUrl": urls, **extra}
    out = client.call_api(params, open_api_util_models.OpenApiRequest(body=body), RuntimeOptions())
    return out["body"]["data"]["modelId"]


def _model(server: Server, model_id: str) -> dict[str, Any]:
    client = server.new_client()
    wait_for(lambda: client.personalizedtxt_2img_query_model_train_status(
        m.Personalizedtxt2imgQueryModelTrainStatusRequest(model_id=model_id)).body.data,
        lambda d: d.model_train_status, timeout=20)
    # The raw JSON (the SDK model would drop `failureReason`), through the generic call.
    params = open_api_util_models.Params(
        action="Personalizedtxt2imgQueryModelTrainJobList", version="20240611", protocol="HTTP",
        pathname="/api/v1/personalizedtxt2img/queryModelTrainJobList", method="GET", auth_type="AK",
        style="ROA", req_body_type="json", body_type="json")
    listed = client.call_api(params, open_api_util_models.OpenApiRequest(), RuntimeOptions())["body"]["data"]
    return next(d for d in listed if d["modelId"] == model_id)


def test_deliveries_survive_a_receiver_outage_and_a_restart(tmp_path: Path, image_urls: list[str]) -> None:
    data_dir = tmp_path / "data"
    receiver = Receiver(free_port())  # down: nothing listens on its port yet
    first = start_server(mock_settings(data_dir))
    key = (first.access_key_id, first.secret)
    try:
        account = first.runtime.first_key.account_id  # type: ignore[union-attr]
        endpoint = imprint("webhooks", "add", receiver.url, "--account", account, "--data-dir", str(data_dir),
                           "--json")
        receiver.secret = endpoint["secret"]
        model_id = _train(first, image_urls)
        job = _model(first, model_id)
        assert job["jobStatus"] == "FINISHED"
        # Both events were tried against the closed port and are waiting for their next attempt.
        deadline = time.monotonic() + 10
        while True:
            rows = imprint("webhooks", "deliveries", "--data-dir", str(data_dir), "--json")
            if len(rows) == 2 and all(r["attempts"] >= 1 for r in rows):
                break
            assert time.monotonic() < deadline, rows
            time.sleep(0.05)
        assert {r["state"] for r in rows} == {"pending"}
        assert all("ConnectError" in (r["lastError"] or "") for r in rows), rows
    finally:
        first.stop()

    receiver.up()
    try:
        with running(mock_settings(data_dir), first_key=key):
            got = receiver.wait_for(2)
        assert receiver.refused == 0
        by_type = {p["type"]: p for p in got}
        assert set(by_type) == {"training.started", "training.finished"}
        assert by_type["training.started"]["data"]["jobStatus"] == "TRAINING"
        # The payload is the job object the query operations return.
        assert by_type["training.finished"]["data"] == job
        rows = imprint("webhooks", "deliveries", "--data-dir", str(data_dir), "--json")
        assert {r["state"] for r in rows} == {"delivered"} and all(r["lastStatus"] == 204 for r in rows)
        assert sorted(receiver.message_ids) == sorted(r["messageId"] for r in rows)
    finally:
        receiver.down()


def test_a_jobs_callback_url_and_the_event_filter(mock_server: Server, image_urls: list[str],
                                                  tmp_path: Path) -> None:
    data_dir = str(mock_server.runtime.settings.data_dir)
    account = mock_server.runtime.first_key.account_id  # type: ignore[union-attr]
    only_failures = Receiver(free_port())
    only_failures.up()
    callback = Receiver(free_port(), imprint("webhooks", "secret", "--account", account,
                                             "--data-dir", data_dir).strip())
    callback.up()
    try:
        endpoint = imprint("webhooks", "add", only_failures.url, "--account", account, "--event",
                           "training.failed", "--data-dir", data_dir, "--json")
        only_failures.secret = endpoint["secret"]
        listed = imprint("webhooks", "list", "--account", account, "--data-dir", data_dir, "--json")
        hook_id = endpoint["webhookId"]
        assert [(h["webhookId"], h["events"]) for h in listed] == [(hook_id, ["training.failed"])]
        assert "secret" not in listed[0]
        wide = {"COLUMNS": "200"}
        table = runner.invoke(cli, ["webhooks", "list", "--data-dir", data_dir], env=wide).output
        assert hook_id in table  # the table, for people
        model_id = _train(mock_server, image_urls, callbackUrl=callback.url)
        assert _model(mock_server, model_id)["jobStatus"] == "FINISHED"
        callback.wait_for(2)
        assert callback.events() == [("training.started", "TRAINING"), ("training.finished", "FINISHED")]
        # A training whose photos cannot be fetched fails: only that reaches the failures endpoint.
        bad = _train(mock_server, [image_urls[0].rsplit("/", 1)[0] + "/missing.png"])
        only_failures.wait_for(1)
        failed = only_failures.verified[0]
        assert failed["type"] == "training.failed" and failed["data"]["modelId"] == bad
        assert failed["data"]["jobStatus"] == "WRONG_IMAGE_URL"
        assert "HTTP 404" in failed["data"]["failureReason"]
        assert len(callback.verified) == 2 and only_failures.refused == callback.refused == 0
    finally:
        imprint("webhooks", "remove", endpoint["webhookId"], "--data-dir", data_dir)
        only_failures.down()
        callback.down()


def test_deliveries_go_only_where_image_urls_may(tmp_path: Path) -> None:
    """Without --allow-fetch-from a loopback receiver is refused, as a loopback image URL would be."""
    receiver = Receiver(free_port())
    receiver.up()
    settings = mock_settings(tmp_path / "data", allow_fetch_from=())
    try:
        with running(settings) as server:
            account = server.runtime.first_key.account_id  # type: ignore[union-attr]
            receiver.secret = imprint("webhooks", "add", receiver.url, "--account", account, "--data-dir",
                                      str(settings.data_dir), "--json")["secret"]
            _train(server, ["http://127.0.0.1:9/photo.png"])  # fails at once: a loopback image URL
            deadline = time.monotonic() + 10
            while True:
                rows = imprint("webhooks", "deliveries", "--data-dir", str(settings.data_dir), "--json")
                if rows and rows[0]["attempts"] >= 1:
                    break
                assert time.monotonic() < deadline, rows
                time.sleep(0.05)
        assert "a loopback address" in rows[0]["lastError"], rows
        assert receiver.verified == [] and receiver.refused == 0
    finally:
        receiver.down()


def test_a_bad_callback_url_is_a_400_naming_it(mock_server: Server, image_urls: list[str]) -> None:
    from alibabacloud_tea_openapi.exceptions import ClientException

    with pytest.raises(ClientException) as caught:
        _train(mock_server, image_urls, callbackUrl="ftp://example.com/hook")
    assert caught.value.code == "B_PARAMETER_INVALID_EXCEPTION" and "callbackUrl" in caught.value.message


def _generic(server: Server, action: str, path: str, method: str, body: dict[str, Any] | None = None,
             query: dict[str, str] | None = None) -> dict[str, Any]:
    params = open_api_util_models.Params(
        action=action, version="20240611", protocol="HTTP", pathname=f"/api/v1/personalizedtxt2img/{path}",
        method=method, auth_type="AK", style="ROA", req_body_type="json", body_type="json")
    request = open_api_util_models.OpenApiRequest(body=body, query=query)
    return server.new_client().call_api(params, request, RuntimeOptions())["body"]["data"]


def test_inference_events_carry_the_job_object(mock_server: Server, image_urls: list[str]) -> None:
    data_dir = str(mock_server.runtime.settings.data_dir)
    account = mock_server.runtime.first_key.account_id  # type: ignore[union-attr]
    receiver = Receiver(free_port(), imprint("webhooks", "secret", "--account", account,
                                             "--data-dir", data_dir).strip())
    receiver.up()
    try:
        model_id = _train(mock_server, image_urls)
        assert _model(mock_server, model_id)["jobStatus"] == "FINISHED"
        v1 = _generic(mock_server, "Personalizedtxt2imgAddInferenceJob", "addInferenceJob", "POST",
                      {"modelId": model_id, "prompt": "<special-token> cat", "callbackUrl": receiver.url})
        # v2 with photos that cannot be fetched: it fails.
        v2 = _generic(mock_server, "PersonalizedTextToImageAddInferenceJob", "addPreModelInferenceJob",
                      "POST", {"imageUrl": [image_urls[0] + ".missing"], "prompt": "a cat",
                               "callbackUrl": receiver.url})
        got = {p["data"]["id"]: p for p in receiver.wait_for(2)}
        assert got[v1["id"]]["type"] == "inference.finished" and got[v2["id"]]["type"] == "inference.failed"
        for job in (v1, v2):
            now = _generic(mock_server, "Personalizedtxt2imgQueryInferenceJobInfo", "queryInferenceJobInfo",
                           "GET", query={"inferenceJobId": job["id"]})
            assert got[job["id"]]["data"] == now  # what the query operation returns
        assert got[v1["id"]]["data"]["resultImageUrl"] == ["0000.png"]
        assert got[v2["id"]]["data"]["jobStatus"] == "WRONG_IMAGE_URL"
    finally:
        receiver.down()
