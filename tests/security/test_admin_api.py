"""The admin API: bearer-token authenticated, off without a token, and the same operations as the CLI
(accounts, users, keys, policies, temporary keys), whose results work through the official SDK."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from alibabacloud_aicontent20240611 import models as m
from alibabacloud_tea_openapi.exceptions import ClientException
from seckit import Key, SecServer, running, settings

from imprint.api.admin.token import AdminToken, create_token

QUERIES = {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "aicontent:*Query*", "Resource": "*"}]}


@pytest.fixture(scope="module")
def admin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SecServer, str]]:
    data = tmp_path_factory.mktemp("admin")
    token = create_token(data)
    with running(settings(data)) as srv:
        yield srv, token


def api(
    admin: tuple[SecServer, str],
    method: str,
    path: str,
    body: Any = None,
    token: str | None = None,
    **params: str,
) -> httpx.Response:
    srv, good = admin
    headers = {"Authorization": f"Bearer {token if token is not None else good}"}
    return httpx.request(
        method, f"http://{srv.endpoint}/admin/v1{path}", json=body, params=params, headers=headers, timeout=30
    )


def ok(resp: httpx.Response) -> Any:
    assert resp.status_code == 200, resp.text
    return resp.json()["data"]


def test_admin_api_is_off_without_a_token(server: SecServer) -> None:
    resp = httpx.get(f"http://{server.endpoint}/admin/v1/accounts", headers={"Authorization": "Bearer x"})
    assert resp.status_code == 404 and resp.json()["Code"] == "InvalidAction.NotFound"


@pytest.mark.parametrize("authorization", [None, "", "Bearer", "Bearer wrong", "Basic abc", "bearer x y"])
def test_admin_api_needs_the_token(admin: tuple[SecServer, str], authorization: str | None) -> None:
    srv, token = admin
    headers = {} if authorization is None else {"Authorization": authorization}
    resp = httpx.get(f"http://{srv.endpoint}/admin/v1/accounts", headers=headers)
    assert resp.status_code == 401 and resp.json()["Code"] == "InvalidAuthorization.Admin"
    assert token not in resp.text


def test_signed_tenant_keys_are_not_admin_credentials(admin: tuple[SecServer, str]) -> None:
    srv, _ = admin
    resp = httpx.get(
        f"http://{srv.endpoint}/admin/v1/accounts", headers={"Authorization": f"Bearer {srv.root.secret}"}
    )
    assert resp.status_code == 401


def test_full_flow_through_the_admin_api(admin: tuple[SecServer, str]) -> None:
    srv, _ = admin
    account = ok(api(admin, "POST", "/accounts", {"name": "tenant-x"}))
    assert account["accountId"] in [a["accountId"] for a in ok(api(admin, "GET", "/accounts"))]
    aid = account["accountId"]
    user = ok(api(admin, "POST", f"/accounts/{aid}/users", {"userName": "carol"}))
    conflict = api(admin, "POST", f"/accounts/{aid}/users", {"userName": "carol"})
    assert conflict.status_code == 409 and conflict.json()["Code"] == "EntityAlreadyExists"
    ok(api(admin, "POST", f"/accounts/{aid}/policies", {"policyName": "QueriesOnly", "document": QUERIES}))
    bad = api(admin, "POST", f"/accounts/{aid}/policies", {"policyName": "Bad", "document": {"Version": "2"}})
    assert bad.status_code == 400 and bad.json()["Code"] == "MalformedPolicyDocument"
    attached = ok(api(admin, "POST", f"/users/{user['userId']}/policies", {"policyName": "QueriesOnly"}))
    assert attached["policies"] == [{"policyType": "Custom", "policyName": "QueriesOnly"}]
    new = ok(api(admin, "POST", "/keys", {"userId": user["userId"]}))
    key = Key(new["accessKeyId"], new["accessKeySecret"])
    client = srv.new_client(key)
    assert client.personalizedtxt_2img_query_model_train_job_list().body.data == []
    with pytest.raises(ClientException) as info:
        client.personalizedtxt_2img_add_model_train_job(
            m.Personalizedtxt2imgAddModelTrainJobRequest(
                name="x", object_type="dog", image_url=["https://photos.example/a.png"]
            )
        )
    assert info.value.status_code == 403
    temp = ok(api(admin, "POST", f"/users/{user['userId']}/temporary-keys", {"durationSeconds": 900}))
    temp_key = Key(temp["accessKeyId"], temp["accessKeySecret"], temp["securityToken"])
    assert srv.new_client(temp_key).personalizedtxt_2img_query_model_train_job_list().body.data == []
    listed = ok(api(admin, "GET", "/keys", accountId=aid))
    assert {k["accessKeyId"] for k in listed} == {key.access_key_id, temp_key.access_key_id}
    assert all("accessKeySecret" not in k and "securityToken" not in k for k in listed)
    busy = api(admin, "DELETE", f"/accounts/{aid}/policies/QueriesOnly")
    assert busy.status_code == 409 and busy.json()["Code"] == "DeleteConflict"
    ok(api(admin, "POST", f"/keys/{key.access_key_id}/disable"))
    with pytest.raises(ClientException) as info:
        client.personalizedtxt_2img_query_model_train_job_list()
    assert info.value.code == "InvalidAccessKeyId.Inactive"
    ok(api(admin, "DELETE", f"/users/{user['userId']}/policies/Custom/QueriesOnly"))
    ok(api(admin, "DELETE", f"/accounts/{aid}/policies/QueriesOnly"))
    ok(api(admin, "DELETE", f"/users/{user['userId']}"))
    assert srv.call(temp_key, "queryModelTrainJobList").status_code == 404
    ok(api(admin, "DELETE", f"/accounts/{aid}"))
    assert api(admin, "GET", f"/accounts/{aid}").status_code == 404


def test_admin_errors_are_envelopes(admin: tuple[SecServer, str]) -> None:
    missing = api(admin, "GET", "/nothing-here")
    assert missing.status_code == 404 and missing.json()["Code"] == "InvalidAction.NotFound"
    wrong = api(admin, "PATCH", "/accounts")
    assert wrong.status_code == 405 and wrong.json()["Code"] == "UnsupportedHTTPMethod"
    nobody = api(admin, "POST", "/keys", {"userId": "999"})
    assert nobody.status_code == 404 and nobody.json()["Code"] == "EntityNotExist.User"
    short = api(admin, "POST", "/users/999/temporary-keys", {"durationSeconds": 10})
    assert short.status_code == 400
    srv, token = admin
    big = httpx.post(
        f"http://{srv.endpoint}/admin/v1/accounts",
        content=b"x" * (1024 * 1024 + 1),
        headers={"Authorization": f"Bearer {token}"},
    )
    assert big.status_code == 413


def test_token_from_the_environment_and_rotation(tmp_path: Path) -> None:
    from_env = AdminToken(tmp_path, env={"IMPRINT_ADMIN_TOKEN": "s3cret"})
    assert from_env.accepts("Bearer s3cret") and not from_env.accepts("Bearer s3cre")
    from_file = AdminToken(tmp_path, env={})
    assert not from_file.enabled
    first = create_token(tmp_path)
    assert from_file.accepts(f"Bearer {first}")
    second = create_token(tmp_path)
    assert from_file.accepts(f"Bearer {second}") and not from_file.accepts(f"Bearer {first}")
    assert first not in (tmp_path / "admin-token.sha256").read_text()
    assert oct((tmp_path / "admin-token.sha256").stat().st_mode & 0o777) == "0o600"
