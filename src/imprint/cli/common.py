"""What every management command shares: options, opening the store, printing, failing cleanly."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from sqlalchemy.orm import Session

from imprint.config import DATABASE_FILE, Settings
from imprint.service.errors import DomainError
from imprint.store.db import make_engine, make_session_factory, migrate
from imprint.store.sealing import prepare_secrets
from imprint.store.secret_box import SecretBox, load_server_key

console = Console()

DataDir = Annotated[Path, typer.Option("--data-dir", envvar="IMPRINT_DATA_DIR",
                                       help="Where imprint keeps its data.")]
AsJson = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
AccountOpt = Annotated[str, typer.Option("--account", help="Account id.")]
# The scale-out backends; `serve` and `worker` take the same ones (README "Scaled-out configuration").
DatabaseUrl = Annotated[str | None, typer.Option(
    envvar="IMPRINT_DATABASE_URL", show_default=False,
    help="SQLAlchemy URL of the database, e.g. postgresql+psycopg://USER@HOST/DB (default: a SQLite file "
         "in the data directory).")]
BlobUrl = Annotated[str | None, typer.Option(
    envvar="IMPRINT_BLOB_URL", show_default=False,
    help="Where images and adapters are kept: s3://BUCKET/PREFIX (endpoint from IMPRINT_S3_ENDPOINT_URL, "
         "credentials from the AWS variables) (default: files in the data directory).")]
# Engine side: whoever trains adapters (serve without a queue, or worker) takes it.
Captioner = Annotated[str, typer.Option(
    envvar="IMPRINT_CAPTIONER",
    help="Who captions training pictures (each one's surroundings, and the subject they share), so "
         "adapters learn the subject and not its backgrounds: auto (the bundled judge, for the "
         "bundled model), none, or a judge folder.")]
KeepTrainingPhotos = Annotated[bool, typer.Option(
    "--keep-training-photos", envvar="IMPRINT_KEEP_TRAINING_PHOTOS",
    help="Keep each model's training photos after it trained, until the model is deleted (default: they "
         "are deleted as soon as training ends; docs/security.md).")]
QueueUrl = Annotated[str | None, typer.Option(
    envvar="IMPRINT_QUEUE_URL", show_default=False,
    help="redis://HOST:PORT/DB: jobs go to Celery workers (`imprint worker`) through Redis (default: "
         "this process runs them).")]


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def fail(message: str) -> typer.Exit:
    console.print(f"[red]error:[/red] {message}")
    return typer.Exit(1)


def missing_database(settings: Settings) -> str | None:
    """Why a management command should not run on this folder: it holds no database (a typo, or the
    wrong working directory) and creating an empty one would hide that. None when there is one, or
    when the database is elsewhere (IMPRINT_DATABASE_URL), where the server's migrations decide."""
    if settings.database_url is not None or (settings.data_dir / DATABASE_FILE).is_file():
        return None
    where = settings.data_dir.resolve()
    return (f"no imprint database in {where}; nothing was created. Point --data-dir (or IMPRINT_DATA_DIR) at "
            f"the folder `imprint serve` uses, or create one there with `imprint serve --data-dir {where}` "
            f"or `imprint init --data-dir {where}`")


@contextmanager
def store(data_dir: Path) -> Iterator[tuple[Session, SecretBox]]:
    """One transaction on the data dir's database, committed when the block ends without error;
    a domain error becomes a one-line message and exit status 1. A folder without a database is
    refused, not created."""
    # Management commands take the database from the environment, as `serve` does without --database-url.
    settings = Settings(data_dir=data_dir, database_url=os.environ.get("IMPRINT_DATABASE_URL"))
    problem = missing_database(settings)
    if problem is not None:
        raise fail(problem)
    engine = make_engine(settings.db_url)
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


ImageWidth = Annotated[int | None, typer.Option(
    "--width", min=8, show_default=False,
    help="Default width of generated images in pixels (default: the base model's native size: 512 for "
         "SD 1.x, 768 for SD 2.x, 1024 for SDXL, 64 for the bundled imprint-tiny).")]
ImageHeight = Annotated[int | None, typer.Option(
    "--height", min=8, show_default=False,
    help="Default height of generated images in pixels (default: the base model's native size).")]


def check_base_model(source: str) -> None:
    """Refuses, before anything starts, a base model that is missing or of an unsupported family
    (read from its model_index.json alone, no weights loaded)."""
    from imprint.engine.errors import BaseModelNotFound
    from imprint.engine.families import detect_family

    try:
        detect_family(source)
    except BaseModelNotFound as exc:
        raise fail(str(exc)) from None
