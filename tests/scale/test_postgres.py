"""The store on PostgreSQL: migrations (up, down, concurrent, over 0001 data) and the service queries,
including the worker's state changes and restart recovery."""

from __future__ import annotations

import os
import threading
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, func, inspect, select, text
from sqlalchemy.orm import Session, sessionmaker

from imprint.service import accounts, assets, inference, keys, policies, runs, sts, training, users
from imprint.service.errors import AlreadyExists, DeleteConflict, InferenceJobNotFound, ModelNotFound
from imprint.service.runs import GeneratedImage
from imprint.service.states import Status
from imprint.store.blobs import LocalBlobStore
from imprint.store.db import MIGRATIONS, make_engine, make_session_factory, migrate
from imprint.store.keys import SqlKeyLookup
from imprint.store.policies import attached_documents
from imprint.store.rows import Base, ImageAssetRow, InferenceJobRow, TrainJobRow
from imprint.store.sealing import prepare_secrets
from imprint.store.secret_box import SecretBox

pytestmark = pytest.mark.scale

NOW = datetime(2026, 1, 2, 3, 4, 5, 678901)
# The newest migration, whichever it is: these tests are about reaching it, not about its number.
HEAD = ScriptDirectory(str(MIGRATIONS)).get_current_head()
BOX = SecretBox(os.urandom(32))
DOC = {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "aicontent:*Query*", "Resource": "*"}]}


@pytest.fixture
def engine(pg_url: str):  # type: ignore[no-untyped-def]
    db = make_engine(pg_url)
    yield db
    db.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    migrate(engine)
    return make_session_factory(engine)


def _alembic(conn, *args: str) -> None:  # type: ignore[no-untyped-def]
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    getattr(command, args[0])(cfg, *args[1:])


def _revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def test_migrations_reach_head_and_match_the_models(engine: Engine) -> None:
    migrate(engine)
    migrate(engine)  # a second start finds nothing to do
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert _revision(engine) == head
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diffs == []
    assert {"accounts", "access_keys", "train_jobs", "inference_jobs", "image_assets", "ram_users",
            "ram_policies", "ram_policy_attachments"} <= set(inspect(engine).get_table_names())


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def test_processes_starting_together_migrate_once(pg_url: str) -> None:
    # API processes and workers start at the same moment; each migrates. Without the advisory lock the
    # losers fail creating tables that the winner created.
    engines = [make_engine(pg_url) for _ in range(4)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(engines))

    def start(db: Engine) -> None:
        try:
            barrier.wait()
            migrate(db)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(db,)) for db in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    try:
        assert errors == []
        assert _revision(engines[0]) == ScriptDirectory.from_config(_config()).get_current_head()
    finally:
        for db in engines:
            db.dispose()


def test_downgrade_to_base_and_upgrade_again(engine: Engine) -> None:
    migrate(engine)
    with engine.begin() as conn:
        _alembic(conn, "downgrade", "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    migrate(engine)
    assert _revision(engine) == ScriptDirectory.from_config(_config()).get_current_head()


def test_0002_upgrades_a_0001_database_with_keys(engine: Engine) -> None:
    with engine.begin() as conn:
        _alembic(conn, "upgrade", "0001")
        at = {"t": NOW}
        conn.execute(text("INSERT INTO accounts (id, name, created_at) VALUES ('1000', 'old', :t)"), at)
        conn.execute(text("INSERT INTO access_keys (access_key_id, secret, account_id, user_id, active, "
                          "created_at) VALUES ('LTAIold', 'plain-secret', '1000', '1000', true, :t)"), at)
    migrate(engine)
    sessions = make_session_factory(engine)
    with sessions.begin() as session:
        prepare_secrets(session, BOX)  # plaintext secrets of 0001 get sealed on start
    found = SqlKeyLookup(sessions, BOX, ttl=0).get("LTAIold")
    assert found is not None and found.secret == "plain-secret" and found.user_id is None
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT secret FROM access_keys")).scalar_one()
    assert stored != "plain-secret"


def _model(session: Session, account: str = "acct", *, finished: bool = True) -> str:
    job = training.submit_train_job(session, account_id=account, user_id=None, name="m", object_type="dog",
                                    image_urls=["http://x/a.png", "http://x/b.png"], train_steps=1, now=NOW)
    if finished:
        session.get_one(TrainJobRow, job.id).status = Status.FINISHED.value
    return job.model_id


def _infer(session: Session, model_id: str, account: str = "acct", **kw):  # type: ignore[no-untyped-def]
    args = dict(account_id=account, user_id=None, model_id=model_id, prompt="a <special-token>",
                image_number=2, seed=None, queue_limit=10, now=NOW)
    args.update(kw)
    return inference.submit_inference_job(session, **args)


def test_service_queries(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        model_id = _model(session)
        other = _model(session, "other")
        first = _infer(session, model_id)
        jobs = [_infer(session, model_id, queue_limit=3).status for _ in range(3)]
    assert jobs == ["SUBMITTED", "SUBMITTED", "TOO_MANY_INFERENCE_REQUESTS"]
    with sessions.begin() as session:
        status = training.train_status(session, account_id="acct", model_id=model_id)
        # JSON columns and microsecond timestamps survive the round trip.
        assert status.image_urls == ["http://x/a.png", "http://x/b.png"] and status.created_at == NOW
        with pytest.raises(ModelNotFound):
            training.train_status(session, account_id="acct", model_id=other)
        listed = training.list_train_jobs(session, account_id="acct")
        assert [m.model_id for m in listed] == [model_id]
        assert [j.id for j in listed[0].inference_jobs] == sorted(j.id for j in listed[0].inference_jobs)
        assert inference.get_inference_job(session, account_id="acct", job_id=str(first.id)).id == first.id
        for missing in (str(first.id + 1000), "999999999999999999"):  # past int4, still a clean miss
            with pytest.raises(InferenceJobNotFound):
                inference.get_inference_job(session, account_id="acct", job_id=missing)
        with pytest.raises(InferenceJobNotFound):
            inference.get_inference_job(session, account_id="other", job_id=str(first.id))


def test_worker_state_changes_and_recovery(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    blobs = LocalBlobStore(tmp_path / "blobs")
    with sessions.begin() as session:
        model_id = _model(session, finished=False)
        train_id = session.scalars(select(TrainJobRow)).one().id
    with sessions.begin() as session:
        work = runs.begin_training(session, job_id=train_id, now=NOW)
        assert work is not None and work.image_urls == ["http://x/a.png", "http://x/b.png"]
        runs.record_progress(session, kind=runs.TRAIN, job_id=train_id, fraction=0.25, now=NOW)
    # A restart of the in-process default: the running job goes back to waiting and is handed out again.
    with sessions.begin() as session:
        assert runs.unfinished_jobs(session) == [(runs.TRAIN, train_id)]
        assert session.get_one(TrainJobRow, train_id).status == "TRAINING"
        assert runs.requeue_interrupted(session, now=NOW) == [(runs.TRAIN, train_id)]
        assert session.get_one(TrainJobRow, train_id).status == "WAIT_SCHEDULE"
    with sessions.begin() as session:
        runs.begin_training(session, job_id=train_id, now=NOW)
        # What a Celery worker does when shutdown stops its job.
        assert runs.release_interrupted(session, kind=runs.TRAIN, job_id=train_id, now=NOW)
        assert session.get_one(TrainJobRow, train_id).status == "WAIT_SCHEDULE"
        runs.begin_training(session, job_id=train_id, now=NOW)
        adapter = blobs.put_bytes(f"adapters/acct/{model_id}.safetensors", b"adapter")
        runs.finish_training(session, job_id=train_id, adapter=adapter, now=NOW)
    with sessions.begin() as session:
        assert not runs.release_interrupted(session, kind=runs.TRAIN, job_id=train_id, now=NOW)
        job = _infer(session, model_id)
    for attempt in range(2):  # a re-run after a crash replaces the assets rather than duplicating them
        with sessions.begin() as session:
            if attempt:
                session.get_one(InferenceJobRow, job.id).status = Status.INFERRING.value
            iwork = runs.begin_inference(session, job_id=job.id, now=NOW)
            assert iwork is not None
            keys_ = {i: f"images/acct/{iwork.prompt_id}/{i}" for i in runs.image_ids(iwork)}
            images = [GeneratedImage(i, blobs.put_bytes(k, i.encode()), 8, 8) for i, k in keys_.items()]
            runs.finish_inference(session, job_id=job.id, images=images, now=NOW)
    with sessions.begin() as session:
        assert session.scalar(select(func.count()).select_from(ImageAssetRow)) == 2
        done = inference.get_inference_job(session, account_id="acct", job_id=str(job.id))
        assert done.result_image_ids == ["0000.png", "0001.png"]
        found = assets.find_image(session, account_id="acct", model_id=model_id, prompt_id=done.prompt_id,
                                  image_id="0001.png", blobs=blobs, cache=assets.AssetCache(1 << 20))
        assert found.data == b"0001.png" and runs.unfinished_jobs(session) == []


def test_premodel_jobs_on_postgres(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        job = inference.submit_premodel_job(
            session, account_id="acct", user_id=None, image_urls=["http://x/a.png"], object_type="dog",
            prompt="a dog", train_steps=2, image_number=1, seed=5, strength=0.5, queue_limit=5, now=NOW)
    with sessions.begin() as session:
        assert runs.unfinished_jobs(session) == [(runs.PREMODEL, job.id)]
        work = runs.begin_inference(session, job_id=job.id, now=NOW)
        assert work is not None and work.generation == "v2" and work.strength == 0.5
        runs.fail_inference(session, job_id=job.id, status=Status.WRONG_IMAGE_URL, reason="bad", now=NOW)
    with sessions.begin() as session:
        assert session.get_one(TrainJobRow, work.model.job_id).status == "WRONG_IMAGE_URL"
        assert runs.unfinished_jobs(session) == []


def test_identities_on_postgres(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        first = keys.bootstrap(session, box=BOX, now=NOW)
        assert first is not None and keys.bootstrap(session, box=BOX, now=NOW) is None
        a = first.account_id
        alice = users.create_user(session, account_id=a, name="alice", now=NOW)
        with pytest.raises(AlreadyExists):
            users.create_user(session, account_id=a, name="alice", now=NOW)
        policies.create_policy(session, account_id=a, name="Q", document=DOC, now=NOW)
        policies.attach(session, user_id=alice.id, policy_name="Q", now=NOW)
        policies.attach(session, user_id=alice.id, policy_name="Q", now=NOW)
        policies.attach(session, user_id=alice.id, policy_name="AliyunAiContentReadOnlyAccess",
                        policy_type="System", now=NOW)
        assert len(attached_documents(session, account_id=a, user_id=alice.id)) == 2
        with pytest.raises(DeleteConflict):
            policies.delete_policy(session, account_id=a, name="Q")
        user_key = keys.create_key(session, box=BOX, account_id=None, user_id=alice.id, now=NOW)
        temp = sts.issue(session, box=BOX, user_id=alice.id, now=NOW, duration_s=900)
        old = sts.issue(session, box=BOX, user_id=alice.id, now=NOW - timedelta(days=3), duration_s=900)
    lookup = SqlKeyLookup(sessions, BOX, ttl=0)
    found = lookup.get(user_key.access_key_id)
    assert found is not None and found.secret == user_key.secret and found.user_id == alice.id
    tfound = lookup.get(temp.access_key_id)
    assert tfound is not None and tfound.security_token == temp.security_token
    with sessions.begin() as session:
        listed = {k.access_key_id for k in keys.list_keys(session, user_id=alice.id)}
        assert user_key.access_key_id in listed and old.access_key_id in listed
        sts.issue(session, box=BOX, user_id=alice.id, now=NOW)  # purges keys expired a day ago
        assert old.access_key_id not in {k.access_key_id for k in keys.list_keys(session, user_id=alice.id)}
        empty = accounts.create_account(session, name="empty", now=NOW + timedelta(seconds=1)).id
        assert [x.id for x in accounts.list_accounts(session)] == [a, empty]
        accounts.delete_account(session, account_id=empty)
        _model(session, a)
        with pytest.raises(DeleteConflict):
            accounts.delete_account(session, account_id=a)


def test_job_bounds_hold_across_concurrent_api_processes(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        model_id = _model(session)
    barrier = threading.Barrier(8)
    statuses: list[str] = []

    def submit(i: int) -> None:
        with sessions.begin() as session:  # one transaction each, as one API request each
            barrier.wait()
            if i % 2:
                job = _infer(session, model_id, queue_limit=100, account_limit=3)
            else:
                job = training.submit_train_job(session, account_id="acct", user_id=None, name="m",
                                                object_type="dog", image_urls=["u"], train_steps=1, now=NOW,
                                                account_limit=3)
            statuses.append(job.status)

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(statuses) == ["SUBMITTED"] * 3 + ["TOO_MANY_INFERENCE_REQUESTS"] * 5


def test_hosts_starting_on_an_empty_database_create_one_account(sessions: sessionmaker[Session]) -> None:
    barrier = threading.Barrier(4)
    created: list[object] = []

    def start() -> None:
        with sessions.begin() as session:
            barrier.wait()
            created.append(keys.bootstrap(session, box=BOX, now=NOW))

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sum(c is not None for c in created) == 1
    with sessions.begin() as session:
        assert len(accounts.list_accounts(session)) == 1
