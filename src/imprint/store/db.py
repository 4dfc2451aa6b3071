"""Engine and session factory; the schema is brought to the latest Alembic revision on start."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"
# Key of the PostgreSQL advisory lock taken while migrating (any constant; "imprint" in ASCII).
_MIGRATION_LOCK = 0x696D7072696E74


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    # WAL lets the API read while a worker writes progress; NORMAL sync is durable in WAL mode
    # except for the last transactions before a power cut, which job recovery tolerates.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def migrate(engine: Engine) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    sqlite = engine.dialect.name == "sqlite"
    with engine.begin() as conn:
        if sqlite:
            # Rebuilding a table (Alembic's batch mode: copy, drop, rename) drops the old one, which
            # SQLite checks as a delete of every row another table references, although the copy with
            # the same ids takes its place (0005). So the check is off while migrating and the whole
            # database is checked at the end. SQLite changes it only outside a transaction: this is
            # the first statement, and pysqlite begins one only at the first write.
            conn.exec_driver_sql("PRAGMA foreign_keys = OFF")
        _serialize_migrations(conn)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
        if sqlite and (broken := conn.exec_driver_sql("PRAGMA foreign_key_check").all()):
            raise RuntimeError(f"the migrations broke references between tables: {broken[:5]}")
    if sqlite:
        # That connection goes back to the pool with the check off; new ones get it from _sqlite_pragmas.
        engine.dispose()


def _serialize_migrations(conn: Connection) -> None:
    # API processes and workers on several hosts start together: one migrates, the others wait for its
    # commit and find the schema at head. (SQLite's single writer already serializes them.)
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})


def serialize(session: Session, *names: str) -> None:
    """Holds a lock per name until the transaction ends, taken in the order given, so that a count and
    the insert it admits are not interleaved with another process's. PostgreSQL runs writers side by
    side and needs advisory locks; SQLite already lets one writer at a time."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for name in names:
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:name))"), {"name": f"imprint:{name}"})
