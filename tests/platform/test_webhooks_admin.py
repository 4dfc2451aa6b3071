"""Webhook endpoints through the admin API (the same service calls as `imprint webhooks`): register
with chosen events, list without secrets, a delivery verified with the returned secret, the
deliveries listed, removal, and errors that name what is wrong."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from alibabacloud_aicontent20240611 import models as m
from apikit import Server, free_port, running
from platformkit import Receiver, mock_settings

from imprint.api.admin.token import create_token


@pytest.fixture
def admin(tmp_path: Path) -> Iterator[tuple[Server, str]]:
    token = create_token(tmp_path)
    with running(mock_settings(tmp_path)) as server:
        yield server, token


def call(admin: tuple[Server, str], method: str, path: str, body: Any = None) -> httpx.Response:
    server, token = admin
    return httpx.request(method, f"http://{server.endpoint}/admin/v1{path}", json=body,
                         headers={"Authorization": f"Bearer {token}"})


def test_register_deliver_list_remove(admin: tuple[Server, str], image_urls: list[str]) -> None:
    server, _ = admin
    account = server.runtime.first_key.account_id  # type: ignore[union-attr]
    receiver = Receiver(free_port())
    receiver.up()
    try:
        made = call(admin, "POST", f"/accounts/{account}/webhooks",
                    {"url": receiver.url, "events": ["training.finished"], "description": "ci"})
        assert made.status_code == 200, made.text
        hook = made.json()["data"]
        assert hook["events"] == ["training.finished"] and hook["secret"].startswith("whsec_")
        receiver.secret = hook["secret"]
        listed = call(admin, "GET", f"/accounts/{account}/webhooks").json()["data"]
        assert [h["webhookId"] for h in listed] == [hook["webhookId"]] and "secret" not in listed[0]

        client = server.new_client()
        request = m.Personalizedtxt2imgAddModelTrainJobRequest(name="n", object_type="cat",
                                                               image_url=image_urls)
        model_id = client.personalizedtxt_2img_add_model_train_job(request).body.data.model_id
        got = receiver.wait_for(1)
        assert got[0]["type"] == "training.finished" and got[0]["data"]["modelId"] == model_id

        deliveries = call(admin, "GET", f"/webhooks/{hook['webhookId']}/deliveries").json()["data"]
        assert len(deliveries) == 1 and deliveries[0]["state"] == "delivered"
        assert deliveries[0]["event"] == "training.finished" and deliveries[0]["lastStatus"] == 204

        assert call(admin, "DELETE", f"/webhooks/{hook['webhookId']}").status_code == 200
        assert call(admin, "GET", f"/accounts/{account}/webhooks").json()["data"] == []
        gone = call(admin, "DELETE", f"/webhooks/{hook['webhookId']}")
        assert gone.status_code == 404 and gone.json()["Code"] == "EntityNotExist.Webhook"
    finally:
        receiver.down()


@pytest.mark.parametrize(("body", "names"), [
    ({"url": "ftp://example.com/x"}, "url"),
    ({"url": "https://example.com/x", "events": ["job.done"]}, "events"),
    ({}, "url"),
])
def test_bad_registrations_say_which_field(admin: tuple[Server, str], body: dict[str, Any],
                                           names: str) -> None:
    account = admin[0].runtime.first_key.account_id  # type: ignore[union-attr]
    resp = call(admin, "POST", f"/accounts/{account}/webhooks", body)
    assert resp.status_code == 400 and f"'{names}'" in resp.json()["Message"], resp.text
