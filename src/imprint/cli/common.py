"""What every management command shares: options, opening the store, printing, failing cleanly."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from sqlalchemy.orm import Session

from imprint.config import Settings
from imprint.service.errors import DomainError
from imprint.store.db import make_engine, make_session_factory, migrate
from imprint.store.sealing import prepare_secrets
from imprint.store.secret_box import SecretBox, load_server_key

console = Console()

DataDir = Annotated[Path, typer.Option("--data-dir", envvar="IMPRINT_DATA_DIR",
                                       help="Where imprint keeps its data.")]
AsJson = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
AccountOpt = Annotated[str, typer.Option("--account", help="Account id.")]


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def fail(message: str) -> typer.Exit:
    console.print(f"[red]error:[/red] {message}")
    return typer.Exit(1)


@contextmanager
def store(data_dir: Path) -> Iterator[tuple[Session, SecretBox]]:
    """One transaction on the data dir's database, committed when the block ends without error;
    a domain error becomes a one-line message and exit status 1."""
    data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(Settings(data_dir=data_dir).db_url)
    try:
        migrate(engine)
        box = load_server_key(data_dir)
        with make_session_factory(engine).begin() as session:
            prepare_secrets(session, box)
            yield session, box
    except DomainError as exc:
        raise fail(exc.message) from None
    finally:
        engine.dispose()


def emit(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False))


def read_document(value: str) -> str:
    """A policy document given inline as JSON, or as @path to a file holding it."""
    if value.startswith("@"):
        try:
            return Path(value[1:]).read_text()
        except OSError as exc:
            raise fail(f"cannot read {value[1:]}: {exc.strerror}") from None
    return value
