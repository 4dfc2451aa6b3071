"""Service-level rules: tenant scoping, the bounded inference queue, one-statement listing."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import event, insert

from imprint.service import inference, training
from imprint.service.errors import ModelNotFound
from imprint.service.states import Status
from imprint.store.db import make_engine, make_session_factory, migrate
from imprint.store.rows import InferenceJobRow, TrainJobRow

NOW = datetime(2024, 7, 1, 12, 0, 0)


@pytest.fixture
def sessions(tmp_path: Path):  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    migrate(engine)
    return make_session_factory(engine)


def _finished_model(session, account: str = "acct") -> str:  # type: ignore[no-untyped-def]
    job = training.submit_train_job(
        session,
        account_id=account,
        user_id=account,
        name="m",
        object_type="dog",
        image_urls=["http://x/a.png"],
        train_steps=1,
        now=NOW,
    )
    session.get(TrainJobRow, job.id).status = Status.FINISHED.value
    return job.model_id


def test_bounded_inference_queue(sessions) -> None:  # type: ignore[no-untyped-def]
    with sessions.begin() as session:
        model_id = _finished_model(session)
        args = dict(
            account_id="acct",
            user_id="acct",
            model_id=model_id,
            prompt="a <special-token>",
            image_number=1,
            seed=None,
            queue_limit=2,
            now=NOW,
        )
        statuses = [inference.submit_inference_job(session, **args).status for _ in range(3)]
    assert statuses == ["SUBMITTED", "SUBMITTED", "TOO_MANY_INFERENCE_REQUESTS"]


def test_other_tenants_models_are_invisible(sessions) -> None:  # type: ignore[no-untyped-def]
    with sessions.begin() as session:
        model_id = _finished_model(session, "alice")
        with pytest.raises(ModelNotFound):
            training.train_status(session, account_id="bob", model_id=model_id)
        assert training.list_train_jobs(session, account_id="bob") == []


def test_listing_10000_jobs_is_two_statements(sessions) -> None:  # type: ignore[no-untyped-def]
    rows = [
        dict(
            account_id="acct",
            model_id=f"dog_{i}",
            origin="v1",
            name=f"job {i}",
            object_type="dog",
            image_urls=["http://x/a.png"],
            train_steps=1,
            seed=1,
            status="FINISHED",
            progress=1.0,
            attempts=1,
            created_at=NOW,
            updated_at=NOW,
        )
        for i in range(10_000)
    ]
    with sessions.begin() as session:
        session.execute(insert(TrainJobRow), rows)
        session.execute(
            insert(InferenceJobRow),
            [
                dict(
                    account_id="acct",
                    train_job_id=i + 1,
                    model_id=f"dog_{i}",
                    prompt_id=f"p{i}",
                    generation="v1",
                    prompt="a",
                    image_number=1,
                    seed=1,
                    status="FINISHED",
                    progress=1.0,
                    result_image_ids=["0000.png"],
                    attempts=1,
                    created_at=NOW,
                    updated_at=NOW,
                )
                for i in range(0, 10_000, 3)
            ],
        )
    statements: list[str] = []
    with sessions() as session:
        engine = session.get_bind()
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            jobs = training.list_train_jobs(session, account_id="acct")
        finally:
            event.remove(engine, "before_cursor_execute", listener)
    assert len(jobs) == 10_000 and jobs[3].image_count == 1 and jobs[1].inference_jobs == []
    assert len(statements) <= 2, statements
