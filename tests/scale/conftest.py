"""The services of the scaled-out configuration, each test with its own: a fresh PostgreSQL database,
Redis database 13 (flushed before and after), and an S3 server (moto) on loopback.

A service that cannot be reached fails the test where CI is set (CI starts PostgreSQL and Redis), and
skips it elsewhere, so a laptop without them still runs the rest of the suite.
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from scalekit import S3, start_s3
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

torch.set_num_threads(1)
# The end-to-end test drives a real server with the API tests' helpers (apikit), the queue-down test
# with the security suite's (seckit).
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "api"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "security"))

POSTGRES_URL = os.environ.get("IMPRINT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
# A database number nothing else on a developer's Redis is likely to use; only it is ever flushed.
REDIS_URL = os.environ.get("IMPRINT_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")


def unavailable(what: str, detail: object) -> None:
    message = f"{what} is not reachable ({detail}); the scale tests need it"
    if os.environ.get("CI"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def _fresh_database() -> Iterator[str]:
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        admin.dispose()
        unavailable(f"PostgreSQL at {make_url(POSTGRES_URL).render_as_string()}", exc)
    # A database per test, so parallel runs and a crashed earlier run never meet.
    name = f"imprint_test_{secrets.token_hex(6)}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def pg_url() -> Iterator[str]:
    yield from _fresh_database()


@pytest.fixture
def redis_url() -> Iterator[str]:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except Exception as exc:
        client.close()
        unavailable(f"Redis at {REDIS_URL}", exc)
    client.flushdb()
    try:
        yield REDIS_URL
    finally:
        client.flushdb()
        client.close()


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[S3]:
    started = start_s3()
    if started is None:
        unavailable("an S3 server (pip install 'moto[server]')", "moto is not installed")
        return
    s3, server = started
    for name, value in s3.env.items():
        monkeypatch.setenv(name, value)
    try:
        yield s3
    finally:
        server.stop()  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def base_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from imprint.tiny.pipeline_folder import save_random_pipeline

    return save_random_pipeline(tmp_path_factory.mktemp("base") / "base")
