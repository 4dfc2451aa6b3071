"""Service rules of accounts, RAM users, policies and keys (the CLI and admin API share them)."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import pytest

from imprint.service import accounts, keys, policies, sts, training, users
from imprint.service.errors import (
    AccountNotFound,
    AlreadyExists,
    DeleteConflict,
    InvalidParameter,
    KeyNotFound,
    MalformedPolicy,
    PolicyNotFound,
    UserNotFound,
)
from imprint.store.db import make_engine, make_session_factory, migrate
from imprint.store.policies import attached_documents
from imprint.store.secret_box import SecretBox

NOW = datetime(2026, 1, 1)
DOC = {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "aicontent:*Query*", "Resource": "*"}]}
BOX = SecretBox(os.urandom(32))


@pytest.fixture
def session(tmp_path: Path):  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    migrate(engine)
    with make_session_factory(engine).begin() as s:
        yield s


def test_users_policies_and_attachments(session) -> None:  # type: ignore[no-untyped-def]
    a = accounts.create_account(session, name="a", now=NOW).id
    b = accounts.create_account(session, name="b", now=NOW).id
    alice = users.create_user(session, account_id=a, name="alice", now=NOW)
    with pytest.raises(AlreadyExists):
        users.create_user(session, account_id=a, name="alice", now=NOW)
    users.create_user(session, account_id=b, name="alice", now=NOW)  # names are per account
    policies.create_policy(session, account_id=a, name="Q", document=DOC, now=NOW)
    policies.create_policy(session, account_id=b, name="B-only", document=DOC, now=NOW)
    with pytest.raises(AlreadyExists):
        policies.create_policy(session, account_id=a, name="AliyunAiContentFullAccess", document=DOC, now=NOW)
    with pytest.raises(PolicyNotFound):  # another account's policy cannot be attached
        policies.attach(session, user_id=alice.id, policy_name="B-only", now=NOW)
    policies.attach(session, user_id=alice.id, policy_name="Q", now=NOW)
    policies.attach(session, user_id=alice.id, policy_name="Q", now=NOW)  # idempotent
    policies.attach(
        session, user_id=alice.id, policy_name="AliyunAiContentReadOnlyAccess", policy_type="System", now=NOW
    )
    with pytest.raises(InvalidParameter):
        policies.attach(session, user_id=alice.id, policy_name="Q", policy_type="Inline", now=NOW)
    assert len(attached_documents(session, account_id=a, user_id=alice.id)) == 2
    assert attached_documents(session, account_id=b, user_id=alice.id) == ()  # the account filter holds
    with pytest.raises(DeleteConflict):
        policies.delete_policy(session, account_id=a, name="Q")
    policies.detach(session, user_id=alice.id, policy_name="Q")
    policies.delete_policy(session, account_id=a, name="Q")
    with pytest.raises(PolicyNotFound):
        policies.detach(session, user_id=alice.id, policy_name="Q")


@pytest.mark.parametrize(
    "document", ['{"Version": "1"}', "[]", "x", {"Version": "1", "Statement": [{}]}, "{" * 10000]
)
def test_malformed_documents(session, document) -> None:  # type: ignore[no-untyped-def]
    a = accounts.create_account(session, name="a", now=NOW).id
    with pytest.raises(MalformedPolicy):
        policies.create_policy(session, account_id=a, name="P", document=document, now=NOW)


def test_keys_belong_to_the_users_account(session) -> None:  # type: ignore[no-untyped-def]
    a = accounts.create_account(session, name="a", now=NOW).id
    b = accounts.create_account(session, name="b", now=NOW).id
    u = users.create_user(session, account_id=a, name="u", now=NOW)
    with pytest.raises(KeyNotFound):
        keys.create_key(session, box=BOX, account_id=b, user_id=u.id, now=NOW)
    key = keys.create_key(session, box=BOX, account_id=None, user_id=u.id, now=NOW)
    assert key.account_id == a and key.user_id == u.id
    with pytest.raises(AccountNotFound):
        keys.create_key(session, box=BOX, account_id="nope", now=NOW)
    with pytest.raises(UserNotFound):
        keys.create_key(session, box=BOX, account_id=None, user_id="nope", now=NOW)


def test_expired_temporary_keys_are_purged_after_a_day(session) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    a = accounts.create_account(session, name="a", now=NOW).id
    u = users.create_user(session, account_id=a, name="u", now=NOW)
    old = sts.issue(session, box=BOX, user_id=u.id, now=NOW - timedelta(days=3), duration_s=900)
    recent = sts.issue(session, box=BOX, user_id=u.id, now=NOW - timedelta(hours=2), duration_s=900)
    sts.issue(session, box=BOX, user_id=u.id, now=NOW)
    remaining = {k.access_key_id for k in keys.list_keys(session, user_id=u.id)}
    assert old.access_key_id not in remaining and recent.access_key_id in remaining


def test_deleting_accounts(session) -> None:  # type: ignore[no-untyped-def]
    a = accounts.create_account(session, name="a", now=NOW).id
    u = users.create_user(session, account_id=a, name="u", now=NOW)
    policies.create_policy(session, account_id=a, name="Q", document=DOC, now=NOW)
    policies.attach(session, user_id=u.id, policy_name="Q", now=NOW)
    keys.create_key(session, box=BOX, account_id=a, now=NOW)
    training.submit_train_job(
        session,
        account_id=a,
        user_id=None,
        name="m",
        object_type="dog",
        image_urls=["u"],
        train_steps=1,
        now=NOW,
    )
    with pytest.raises(DeleteConflict):
        accounts.delete_account(session, account_id=a)
    empty = accounts.create_account(session, name="e", now=NOW).id
    users.create_user(session, account_id=empty, name="u", now=NOW)
    accounts.delete_account(session, account_id=empty)
    assert [x.id for x in accounts.list_accounts(session)] == [a]
    with pytest.raises(AccountNotFound):
        accounts.get_account(session, account_id=empty)


@pytest.mark.parametrize("name", ["", "-x", "a b", "x" * 65, "ü"])
def test_user_names(session, name: str) -> None:  # type: ignore[no-untyped-def]
    a = accounts.create_account(session, name="a", now=NOW).id
    with pytest.raises(InvalidParameter):
        users.create_user(session, account_id=a, name=name, now=NOW)
