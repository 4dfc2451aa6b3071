"""Migration 0005 on a SQLite database that already holds jobs: rows and references survive, and a
deleted job's id is never handed out again (a client polling it must not read a newer job)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text

from imprint.store.db import MIGRATIONS, make_engine, migrate

WHEN = "2026-01-01 00:00:00"
JOB = dict(account_id="a", train_job_id=1, model_id="dog_1", generation="v1", prompt="x", image_number=1,
           seed=1, status="FINISHED", progress=1.0, attempts=0, created_at=WHEN, updated_at=WHEN)


def insert(c: Connection, table: str, **values: Any) -> None:
    names = ", ".join(values)
    c.execute(text(f"INSERT INTO {table} ({names}) VALUES ({', '.join(':' + n for n in values)})"), values)


def test_upgrade_keeps_jobs_and_ids_are_not_reused(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0002")
    with engine.begin() as c:
        insert(c, "accounts", id="a", name="a", created_at=WHEN)
        insert(c, "train_jobs", id=1, account_id="a", model_id="dog_1", origin="v1", name="n",
               object_type="dog", image_urls="[]", train_steps=1, seed=1, status="FINISHED", progress=1.0,
               attempts=0,
               created_at=WHEN, updated_at=WHEN)
        for job_id in (1, 2):
            insert(c, "inference_jobs", id=job_id, prompt_id=f"p{job_id}", **JOB)
    migrate(engine)
    with engine.begin() as c:
        assert c.execute(text("SELECT id FROM inference_jobs ORDER BY id")).scalars().all() == [1, 2]
        assert c.execute(text("PRAGMA foreign_key_check")).all() == []
        assert c.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert c.execute(text("SELECT controls FROM inference_jobs WHERE id = 2")).scalar() is None
        c.execute(text("DELETE FROM inference_jobs WHERE id = 2"))
        insert(c, "inference_jobs", prompt_id="p3", **JOB)
        assert c.execute(text("SELECT max(id) FROM inference_jobs")).scalar() == 3
    engine.dispose()
