"""Secrets at rest: sealed under the server key, bound to their row, migrated from plaintext,
refused under the wrong key, and never written to logs or reprs."""

from __future__ import annotations

import base64
import logging
import os
import stat
import threading
from datetime import datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from seckit import Key, SecServer, running, settings
from sqlalchemy import select, text

from imprint.auth import AccessKey
from imprint.runtime import build_runtime
from imprint.service.domain import NewKey, TemporaryCredentials
from imprint.store.db import MIGRATIONS, make_engine
from imprint.store.rows import AccessKeyRow
from imprint.store.sealing import WrongServerKey
from imprint.store.secret_box import KEY_ENV, SecretBox, SecretUnreadable, load_server_key, new_key_text


def test_secrets_are_sealed_in_the_database(server: SecServer, tmp_path: Path) -> None:
    user_id, key = server.user(server.account_of(server.root))
    temp = server.temporary(user_id)
    with server.sessions() as s:
        rows = {r.access_key_id: r for r in s.scalars(select(AccessKeyRow))}
    for k in (server.root, key, temp):
        assert rows[k.access_key_id].secret.startswith("aesgcm1:")
    assert rows[temp.access_key_id].security_token.startswith("aesgcm1:")  # type: ignore[union-attr]
    data_dir = server.runtime.settings.data_dir
    raw = b"".join(p.read_bytes() for p in data_dir.glob("imprint.sqlite3*"))
    for plain in (server.root.secret, key.secret, temp.secret, temp.token):
        assert plain is not None and plain.encode() not in raw


def test_key_file_is_private(server: SecServer) -> None:
    path = server.runtime.settings.data_dir / "server.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(base64.urlsafe_b64decode(path.read_text().strip())) == 32


def test_loose_key_file_permissions_are_tightened(tmp_path: Path) -> None:
    load_server_key(tmp_path, env={})
    (tmp_path / "server.key").chmod(0o644)
    load_server_key(tmp_path, env={})
    assert stat.S_IMODE((tmp_path / "server.key").stat().st_mode) == 0o600


def test_key_from_the_environment_writes_no_file(tmp_path: Path) -> None:
    box = load_server_key(tmp_path, env={KEY_ENV: new_key_text()})
    assert not (tmp_path / "server.key").exists()
    assert box.open(box.seal("s", bound_to="k"), bound_to="k") == "s"
    with pytest.raises(ValueError):
        load_server_key(tmp_path, env={KEY_ENV: "too-short"})


def test_concurrent_first_starts_agree_on_one_key(tmp_path: Path) -> None:
    boxes: list[SecretBox] = []
    threads = [
        threading.Thread(target=lambda: boxes.append(load_server_key(tmp_path, env={}))) for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    sealed = boxes[0].seal("x", bound_to="k")
    assert all(b.open(sealed, bound_to="k") == "x" for b in boxes)
    assert [p.name for p in tmp_path.iterdir()] == ["server.key"]


def test_sealed_values_are_bound_and_tamper_evident() -> None:
    box = SecretBox(os.urandom(32))
    sealed = box.seal("secret", bound_to="access_keys.secret:A")
    with pytest.raises(SecretUnreadable):
        box.open(sealed, bound_to="access_keys.secret:B")
    flipped = sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1]
    with pytest.raises(SecretUnreadable):
        box.open(flipped, bound_to="access_keys.secret:A")
    with pytest.raises(SecretUnreadable):
        SecretBox(os.urandom(32)).open(sealed, bound_to="access_keys.secret:A")
    assert "secret" not in repr(box) and box.seal("secret", bound_to="x") != box.seal("secret", bound_to="x")


def test_a_secret_copied_onto_another_row_does_not_open(server: SecServer) -> None:
    a, b = server.account("copy-a"), server.account("copy-b")
    with server.sessions.begin() as s:
        stolen = s.get_one(AccessKeyRow, a.access_key_id).secret
        s.get_one(AccessKeyRow, b.access_key_id).secret = stolen
    assert server.call(Key(b.access_key_id, a.secret), "queryModelTrainJobList").status_code == 404
    assert server.call(b, "queryModelTrainJobList").status_code == 404


def test_the_wrong_server_key_refuses_to_start(tmp_path: Path) -> None:
    config = settings(tmp_path / "data")
    build_runtime(config).engine.dispose()
    (tmp_path / "data" / "server.key").write_text(new_key_text())
    with pytest.raises(WrongServerKey):
        build_runtime(config)


def _migrate_to(url: str, revision: str) -> None:
    engine = make_engine(url)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    engine.dispose()


def test_plaintext_secrets_from_0001_are_sealed_on_start_and_keep_working(tmp_path: Path) -> None:
    config = settings(tmp_path / "old")
    config.data_dir.mkdir()
    _migrate_to(config.db_url, "0001")
    engine = make_engine(config.db_url)
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO accounts (id, name, created_at) VALUES ('1000000000000001', 'old', :t)"),
            {"t": datetime(2024, 1, 1)},
        )
        conn.execute(
            text(
                "INSERT INTO access_keys (access_key_id, secret, account_id, user_id, active, created_at)"
                " VALUES ('LTAIoldkey00000000000000', 'OldPlaintextSecret0123456789ab', "
                "'1000000000000001', '1000000000000001', 1, :t)"
            ),
            {"t": datetime(2024, 1, 1)},
        )
    engine.dispose()
    old = Key("LTAIoldkey00000000000000", "OldPlaintextSecret0123456789ab")
    runtime = build_runtime(config)
    assert runtime.first_key is None
    with runtime.services.sessions() as s:
        row = s.get_one(AccessKeyRow, old.access_key_id)
        assert row.secret.startswith("aesgcm1:") and row.user_id is None  # the account's own key now
    runtime.engine.dispose()
    raw = b"".join(p.read_bytes() for p in config.data_dir.glob("imprint.sqlite3*"))
    assert old.secret.encode() not in raw
    with running(config) as server:
        assert server.call(old, "queryModelTrainJobList").status_code == 200


def test_secrets_never_reach_logs_or_reprs(server: SecServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    user_id, key = server.user(server.account_of(server.root))
    temp = server.temporary(user_id)
    server.call(Key(key.access_key_id, "wrong" * 6), "queryModelTrainJobList")
    server.call(temp, "queryModelTrainJobList")
    with server.sessions.begin() as s:  # a sealed secret that no longer opens is logged by id only
        s.get_one(AccessKeyRow, key.access_key_id).secret = "aesgcm1:AAAA"
    server.call(key, "queryModelTrainJobList")
    logged = "\n".join(r.getMessage() + repr(r.args) for r in caplog.records)
    assert key.access_key_id in logged
    for plain in (key.secret, temp.secret, temp.token):
        assert plain is not None and plain not in logged
    exp = datetime(2100, 1, 1)
    for obj in (
        AccessKey("id", "s3cr3t-value", "a", None, True, security_token="t0k3n-value", expires_at=exp),
        NewKey("id", "s3cr3t-value", "a"),
        TemporaryCredentials("id", "s3cr3t-value", "t0k3n-value", exp, "a", "u"),
    ):
        assert "s3cr3t-value" not in repr(obj) and "t0k3n-value" not in repr(obj)
