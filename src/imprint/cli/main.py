"""The `imprint` command: `serve`, and `keys create|list|disable|delete`."""

from __future__ import annotations

import importlib.util
import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from imprint.config import Settings, bundled_base_model, default_data_dir
from imprint.service import keys as key_service
from imprint.service.errors import KeyNotFound
from imprint.store.db import make_engine, make_session_factory, migrate

app = typer.Typer(help="imprint: self-hosted personalized text-to-image, AiContent-compatible.",
                  no_args_is_help=True)
keys_app = typer.Typer(help="Manage AccessKeys.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
console = Console()

DataDir = Annotated[Path, typer.Option("--data-dir", envvar="IMPRINT_DATA_DIR",
                                       help="Where imprint keeps its data.")]
AsJson = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _sessions(data_dir: Path):  # type: ignore[no-untyped-def]
    settings = Settings(data_dir=data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.db_url)
    migrate(engine)
    return make_session_factory(engine)


def _fail(message: str) -> typer.Exit:
    console.print(f"[red]error:[/red] {message}")
    return typer.Exit(1)


@app.command()
def serve(
    data_dir: DataDir = default_data_dir(),
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
    base_model: Annotated[str | None, typer.Option(help="Diffusers pipeline folder or hub id.")] = None,
    device: Annotated[str, typer.Option(help="torch device for the engine.")] = "cpu",
    train_workers: Annotated[int, typer.Option(help="Trainings run at the same time.")] = 1,
    inference_queue_size: Annotated[int, typer.Option(help="Unfinished inference jobs admitted.")] = 16,
) -> None:
    """Run the API server and its workers; the first start creates an account and an AccessKey."""
    import uvicorn

    from imprint.runtime import build_runtime

    if base_model is None and not (bundled_base_model() / "model_index.json").is_file():
        raise _fail(f"the bundled base model is missing ({bundled_base_model()}); pass --base-model "
                    "with a diffusers Stable Diffusion folder or hub id")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings(data_dir=data_dir, base_model=base_model, device=device, train_workers=train_workers,
                        inference_queue_size=inference_queue_size)
    runtime = build_runtime(settings)
    if runtime.first_key is not None:
        k = runtime.first_key
        console.print("[bold]Created account and AccessKey (the secret is shown only this once):[/bold]")
        console.print(f"  account id        {k.account_id}\n  AccessKey ID      {k.access_key_id}\n"
                      f"  AccessKey secret  {k.secret}")
    runtime.start()
    config = uvicorn.Config(
        runtime.app, host=host, port=port, log_level="info",
        loop="uvloop" if importlib.util.find_spec("uvloop") else "asyncio",
        http="httptools" if importlib.util.find_spec("httptools") else "h11")
    console.print(f"imprint serving on http://{host}:{port} (data in {data_dir})")
    try:
        uvicorn.Server(config).run()
    finally:
        runtime.stop()


@keys_app.command("create")
def keys_create(data_dir: DataDir = default_data_dir(), as_json: AsJson = False,
                account: Annotated[str | None, typer.Option(help="Account id (default: the first).")] = None,
                ) -> None:
    """Create an AccessKey; the secret is printed only now."""
    try:
        with _sessions(data_dir).begin() as session:
            first = key_service.bootstrap(session, now=_now()) if account is None else None
            new = first or key_service.create_key(session, account_id=account, now=_now())
    except KeyNotFound as exc:
        raise _fail(exc.message) from None
    if as_json:
        print(json.dumps({"accessKeyId": new.access_key_id, "accessKeySecret": new.secret,
                          "accountId": new.account_id}))
    else:
        console.print(f"AccessKey ID      {new.access_key_id}\nAccessKey secret  {new.secret}\n"
                      f"account id        {new.account_id}")


@keys_app.command("list")
def keys_list(data_dir: DataDir = default_data_dir(), as_json: AsJson = False) -> None:
    """List AccessKeys (never their secrets)."""
    with _sessions(data_dir)() as session:
        rows = key_service.list_keys(session)
    if as_json:
        print(json.dumps([{"accessKeyId": k.access_key_id, "accountId": k.account_id, "active": k.active,
                           "createTime": k.created_at.isoformat()} for k in rows]))
        return
    table = Table("AccessKey ID", "account", "status", "created")
    for k in rows:
        table.add_row(k.access_key_id, k.account_id, "active" if k.active else "disabled",
                      k.created_at.isoformat(timespec="seconds"))
    console.print(table)


def _change(data_dir: Path, access_key_id: str, as_json: AsJson, action: str) -> None:
    try:
        with _sessions(data_dir).begin() as session:
            if action == "delete":
                key_service.delete_key(session, access_key_id=access_key_id)
            else:
                key_service.set_active(session, access_key_id=access_key_id, active=action == "enable")
    except KeyNotFound as exc:
        raise _fail(exc.message) from None
    if as_json:
        print(json.dumps({"accessKeyId": access_key_id, "result": action + "d"}))
    else:
        console.print(f"{access_key_id}: {action}d")


@keys_app.command("disable")
def keys_disable(access_key_id: str, data_dir: DataDir = default_data_dir(), as_json: AsJson = False) -> None:
    """Disable an AccessKey (requests signed with it are refused)."""
    _change(data_dir, access_key_id, as_json, "disable")


@keys_app.command("enable")
def keys_enable(access_key_id: str, data_dir: DataDir = default_data_dir(), as_json: AsJson = False) -> None:
    """Re-enable a disabled AccessKey."""
    _change(data_dir, access_key_id, as_json, "enable")


@keys_app.command("delete")
def keys_delete(access_key_id: str, data_dir: DataDir = default_data_dir(), as_json: AsJson = False) -> None:
    """Delete an AccessKey for good."""
    _change(data_dir, access_key_id, as_json, "delete")


if __name__ == "__main__":
    app()
