"""The `imprint` command. Two kinds of commands share it, each in its own help panel: the client
commands (`login`, `train`, `generate`, `models`, `jobs`; imprint.cli.client), which call any imprint
server over its signed API as an outside client would, and the server administration (`serve`,
`worker`, `eval`, and the management groups `accounts`, `users`, `keys`, `policies` and `admin`, which
work on the server's own data and call the same service functions as the admin API)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

import typer

from imprint.auth.connection import TrustedProxies
from imprint.cli import accounts, admin, draw, evaluate, init, keys, policies, users, webhooks, worker
from imprint.cli.client import generate, jobs, login, models, train
from imprint.cli.common import (
    BlobUrl,
    Captioner,
    DatabaseUrl,
    DataDir,
    ImageHeight,
    ImageWidth,
    KeepTrainingPhotos,
    QueueUrl,
    check_base_model,
    console,
)
from imprint.cli.common import fail as _fail
from imprint.config import Settings, bundled_base_model, default_data_dir, default_workers

CLIENT = "Client: use an imprint server (any host, signed API)"
SERVER = "Server administration (on the server's host, its data directory)"
TOOLS = "Tools (local, no server)"

app = typer.Typer(help="imprint: self-hosted personalized text-to-image, AiContent-compatible.",
                  no_args_is_help=True)
app.command("login", rich_help_panel=CLIENT)(login.login)
app.command("train", rich_help_panel=CLIENT)(train.train)
app.command("generate", rich_help_panel=CLIENT)(generate.generate)
app.add_typer(models.app, name="models", rich_help_panel=CLIENT)
app.add_typer(jobs.app, name="jobs", rich_help_panel=CLIENT)
app.add_typer(accounts.app, name="accounts", rich_help_panel=SERVER)
app.add_typer(users.app, name="users", rich_help_panel=SERVER)
app.add_typer(keys.app, name="keys", rich_help_panel=SERVER)
app.add_typer(policies.app, name="policies", rich_help_panel=SERVER)
app.add_typer(admin.app, name="admin", rich_help_panel=SERVER)
app.add_typer(webhooks.app, name="webhooks", rich_help_panel=SERVER)
app.command("worker", rich_help_panel=SERVER)(worker.worker)
app.command("eval", rich_help_panel=SERVER)(evaluate.evaluate)
app.command("init", rich_help_panel=SERVER)(init.init)
app.command("draw", rich_help_panel=TOOLS)(draw.draw)


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        print(f"imprint {version('imprint')}")
        raise typer.Exit()


@app.callback()
def main(version: Annotated[bool, typer.Option(
        "--version", callback=_print_version, is_eager=True, help="Print the version and exit.")] = False,
         ) -> None:
    """imprint: self-hosted personalized text-to-image, AiContent-compatible."""


def _proxies(values: Sequence[str]) -> tuple[str, ...]:
    entries = tuple(v.strip() for value in values for v in value.split(",") if v.strip())
    try:
        TrustedProxies(entries)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--trusted-proxy") from None
    return entries


@app.command(rich_help_panel=SERVER)
def serve(
    data_dir: DataDir = default_data_dir(),
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="IMPRINT_PORT", help="Port to listen on.")] = 8080,
    base_model: Annotated[str | None, typer.Option(
        help="Diffusers pipeline folder or hub id: Stable Diffusion 1.x/2.x (StableDiffusionPipeline) or "
             "SDXL (StableDiffusionXLPipeline). Default: the bundled imprint-tiny.")] = None,
    device: Annotated[str, typer.Option(help="torch device for the engine.")] = "cpu",
    width: ImageWidth = None,
    height: ImageHeight = None,
    train_workers: Annotated[int, typer.Option(help="Trainings run at the same time.")] = 1,
    job_niceness: Annotated[int, typer.Option(
        min=0, max=19, help="Nice value added to the threads that train and generate, so that on a busy "
                            "machine API requests get the CPU first (0: same priority as the API).")] = 10,
    inference_workers: Annotated[int, typer.Option(
        min=1, help="Inference jobs in flight at once; compatible ones share one denoising loop.")] = 1,
    inference_queue_size: Annotated[int, typer.Option(help="Unfinished inference jobs admitted.")] = 16,
    allow_fetch_from: Annotated[list[str] | None, typer.Option(
        "--allow-fetch-from", envvar="IMPRINT_ALLOW_FETCH_FROM", show_default=False,
        help="A private network (CIDR) training image URLs may point into, such as an on-premise image "
             "store. Repeatable; the environment variable takes a comma-separated list. Without it only "
             "public addresses are fetched.")] = None,
    trusted_proxy: Annotated[list[str] | None, typer.Option(
        "--trusted-proxy", envvar="IMPRINT_TRUSTED_PROXIES", show_default=False,
        help="A reverse proxy (IP or CIDR) whose X-Forwarded-For/-Proto are believed for RAM conditions "
             "(acs:SourceIp, acs:SecureTransport). Repeatable. Without it only the socket peer counts.",
    )] = None,
    rate_limit_per_s: Annotated[float, typer.Option(help="Requests/s per AccessKey (0: off).")] = 50.0,
    rate_limit_burst: Annotated[int, typer.Option(help="Requests one AccessKey may burst.")] = 100,
    max_jobs_per_account: Annotated[int, typer.Option(help="Unfinished jobs one account may have.")] = 8,
    workers: Annotated[int | None, typer.Option(
        help="API worker processes (default: one per CPU). With more than one, this process runs the "
             "jobs and supervises the workers, which serve HTTP.", show_default=False)] = None,
    access_log: Annotated[bool, typer.Option(help="Log every request (costs throughput).")] = False,
    nonce_store: Annotated[str | None, typer.Option(
        envvar="IMPRINT_NONCE_STORE", show_default=False,
        help="Where signature nonces are kept: sqlite:///PATH (default: nonces.sqlite3 in the data "
             "directory) or redis://HOST:PORT/DB when API processes run on several hosts.")] = None,
    database_url: DatabaseUrl = None,
    blob_url: BlobUrl = None,
    queue_url: QueueUrl = None,
    captioner: Captioner = "auto",
    retention_days: Annotated[float | None, typer.Option(
        envvar="IMPRINT_RETENTION_DAYS", show_default=False,
        help="Delete models and inference jobs (with their adapters, photos and images) older than this "
             "many days, swept hourly in the background (default: keep them until deleted).")] = None,
    keep_training_photos: KeepTrainingPhotos = False,
    mock: Annotated[bool, typer.Option(
        "--mock", help="No model: trainings finish in about a second, images are placeholders with the "
                       "prompt written on them, and every response carries X-Imprint-Mock: true. For "
                       "testing client integrations.")] = False,
    log_level: Annotated[str, typer.Option(
        help="debug, info, warning or error; below debug, libraries log only their errors.")] = "info",
) -> None:
    """Run the API server and its workers; the first start creates an account and an AccessKey."""
    from imprint.cli.port_check import port_problem
    from imprint.logs import LEVELS, configure_logging
    from imprint.store.data_lock import DataDirInUse, DataDirLock

    if log_level not in LEVELS:
        raise typer.BadParameter(f"use one of {', '.join(LEVELS)}", param_hint="--log-level")

    if not mock and base_model is None and not (bundled_base_model() / "model_index.json").is_file():
        raise _fail(f"the bundled base model is missing ({bundled_base_model()}); pass --base-model "
                    "with a diffusers Stable Diffusion folder or hub id")
    if not mock:
        check_base_model(base_model or str(bundled_base_model()))
    worker_count = workers or default_workers()
    from imprint.ingest import parse_networks

    if retention_days is not None and retention_days <= 0:
        raise typer.BadParameter("must be more than 0 days (leave it out to keep everything until deleted)",
                                 param_hint="--retention-days")
    try:
        networks = parse_networks(allow_fetch_from or ())
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--allow-fetch-from") from None
    settings = Settings(data_dir=data_dir, base_model=base_model, device=device, train_workers=train_workers,
                        job_niceness=job_niceness, inference_workers=inference_workers,
                        inference_queue_size=inference_queue_size,
                        allow_fetch_from=tuple(str(n) for n in networks),
                        trusted_proxies=_proxies(trusted_proxy or ()), rate_limit_per_s=rate_limit_per_s,
                        rate_limit_burst=rate_limit_burst, max_active_jobs_per_account=max_jobs_per_account,
                        nonce_store_url=nonce_store, database_url=database_url, blob_url=blob_url,
                        queue_url=queue_url, captioner=captioner, retention_days=retention_days,
                        keep_training_photos=keep_training_photos, mock=mock, image_width=width,
                        image_height=height)
    # Before anything is created: a busy port must not leave a new data folder, account and key behind.
    problem = port_problem(host, port)
    if problem is not None:
        raise _fail(f"{problem}; stop the program using it or choose another --port")
    lock = DataDirLock(data_dir)
    try:
        lock.acquire(f"imprint serve on http://{host}:{port}")
    except DataDirInUse as exc:
        raise _fail(f"{exc}; stop it first, or give this server another --data-dir") from None
    try:
        if worker_count > 1:
            # Before anything imports prometheus_client: each API process then writes its samples where
            # every process's /metrics adds them up.
            from imprint.metrics import prepare_multiprocess_dir

            prepare_multiprocess_dir(data_dir / "metrics")
        configure_logging(log_level)
        from imprint.runtime import build_runtime
        from imprint.server import run_server

        runtime = build_runtime(settings)
        if runtime.first_key is not None:
            k = runtime.first_key
            console.print("[bold]Created account and AccessKey (the secret is shown only this once):[/bold]")
            console.print(f"  account id        {k.account_id}\n  AccessKey ID      {k.access_key_id}\n"
                          f"  AccessKey secret  {k.secret}")
        console.print(f"imprint serving on http://{host}:{port} (data in {data_dir}); "
                      f"web console: http://{host}:{port}/console"
                      + (" [bold]in mock mode: no model, placeholder results[/bold]" if mock else ""))
        run_server(runtime, host=host, port=port, workers=worker_count, access_log=access_log)
    finally:
        lock.release()


if __name__ == "__main__":
    app()
