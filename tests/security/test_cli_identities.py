"""`imprint accounts|users|keys|policies|admin` with --json, and the identities they make, used
through the real server and the official SDK."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from seckit import Key, running, settings
from typer.testing import CliRunner

from imprint.cli.main import app

QUERIES = (
    '{"Version": "1", "Statement": [{"Effect": "Allow", "Action": "aicontent:*Query*", "Resource": "*"}]}'
)


def cli(data: Path, *args: str, code: int = 0) -> Any:
    # Management commands refuse a folder without a database; `imprint init` makes one.
    assert CliRunner().invoke(app, ["init", "--data-dir", str(data)]).exit_code == 0
    result = CliRunner().invoke(app, [*args, "--data-dir", str(data), "--json"])
    assert result.exit_code == code, result.output
    return json.loads(result.stdout) if code == 0 else result.output


def test_identities_made_with_the_cli_work_end_to_end(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = cli(data, "keys", "create")
    account = cli(data, "accounts", "create", "--name", "team")
    assert account["accountId"] in [a["accountId"] for a in cli(data, "accounts", "list")]
    assert cli(data, "accounts", "show", account["accountId"]) == account
    user = cli(data, "users", "create", "--account", account["accountId"], "--name", "dana")
    (tmp_path / "q.json").write_text(QUERIES)
    created = cli(
        data,
        "policies",
        "create",
        "--account",
        account["accountId"],
        "--name",
        "Queries",
        "--document",
        f"@{tmp_path / 'q.json'}",
    )
    assert created["document"] == json.loads(QUERIES)
    names = [p["policyName"] for p in cli(data, "policies", "list", "--account", account["accountId"])]
    assert names[-1] == "Queries" and "AliyunAiContentFullAccess" in names
    shown = cli(data, "users", "attach-policy", user["userId"], "--policy", "Queries")
    assert shown["policies"] == [{"policyType": "Custom", "policyName": "Queries"}]
    key = cli(data, "keys", "create", "--user", user["userId"])
    temp = cli(
        data,
        "keys",
        "create-temporary",
        "--user",
        user["userId"],
        "--duration-seconds",
        "900",
        "--policy",
        '{"Version": "1", "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}',
    )
    listed = cli(data, "keys", "list", "--account", account["accountId"])
    assert {k["accessKeyId"] for k in listed} == {key["accessKeyId"], temp["accessKeyId"]}
    assert [k["temporary"] for k in listed] == [False, True]
    assert "accessKeySecret" not in json.dumps(listed)

    with running(settings(data)) as server:
        root = Key(first["accessKeyId"], first["accessKeySecret"])
        assert server.call(root, "queryModelTrainJobList").status_code == 200
        for k in (
            Key(key["accessKeyId"], key["accessKeySecret"]),
            Key(temp["accessKeyId"], temp["accessKeySecret"], temp["securityToken"]),
        ):
            client = server.new_client(k)
            assert client.personalizedtxt_2img_query_model_train_job_list().body.data == []
            assert server.call(k, "addModelTrainJob", body={}).status_code == 403
        # Changes made by the CLI while the server runs apply to the next request.
        cli(data, "users", "detach-policy", user["userId"], "--policy", "Queries")
        assert (
            server.call(Key(key["accessKeyId"], key["accessKeySecret"]), "queryModelTrainJobList").status_code
            == 403
        )
        cli(data, "keys", "disable", key["accessKeyId"])
        resp = server.call(Key(key["accessKeyId"], key["accessKeySecret"]), "queryModelTrainJobList")
        assert resp.json()["Code"] == "InvalidAccessKeyId.Inactive"


def test_cli_errors_are_one_line_and_exit_1(tmp_path: Path) -> None:
    data = tmp_path / "data"
    account = cli(data, "accounts", "create", "--name", "x")["accountId"]
    assert "does not exist" in cli(data, "users", "create", "--account", "1", "--name", "a", code=1)
    assert "malformed" in cli(
        data,
        "policies",
        "create",
        "--account",
        account,
        "--name",
        "P",
        "--document",
        '{"Version": "1"}',
        code=1,
    )
    assert "Traceback" not in cli(data, "keys", "create-temporary", "--user", "42", code=1)
    assert "a user name" in cli(data, "users", "create", "--account", account, "--name", "-bad", code=1)
    user = cli(data, "users", "create", "--account", account, "--name", "ok")
    assert "900" in cli(
        data, "keys", "create-temporary", "--user", user["userId"], "--duration-seconds", "5", code=1
    )
    assert "already exists" in cli(data, "users", "create", "--account", account, "--name", "ok", code=1)


def test_admin_token_command(tmp_path: Path) -> None:
    from imprint.api.admin.token import AdminToken

    token = cli(tmp_path, "admin", "token")["adminToken"]
    assert AdminToken(tmp_path, env={}).accepts(f"Bearer {token}")
