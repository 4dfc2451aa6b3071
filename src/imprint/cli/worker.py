"""`imprint worker`: runs training and inference jobs from Redis (Celery), beside `imprint serve
--queue-url` processes that take the API calls. It takes the same data options as serve."""

from __future__ import annotations

from typing import Annotated

import typer

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
from imprint.config import Settings, bundled_base_model, default_data_dir


def _lanes(values: str) -> list[str]:
    lanes = [v.strip() for v in values.split(",") if v.strip()]
    unknown = sorted(set(lanes) - {"train", "infer"})
    if not lanes or unknown:
        raise typer.BadParameter(f"expected train, infer or train,infer, got {values!r}",
                                 param_hint="--queues")
    return lanes


def worker(
    queue_url: QueueUrl = None,
    database_url: DatabaseUrl = None,
    blob_url: BlobUrl = None,
    queues: Annotated[str, typer.Option(
        help="Job queues to consume, comma-separated: train, infer. One training can take minutes on a "
             "GPU, so give inference its own workers where latency matters.")] = "train,infer",
    pool: Annotated[str, typer.Option(
        help="solo: one job at a time in this process (one model in memory); threads: --concurrency jobs "
             "sharing one model.")] = "solo",
    concurrency: Annotated[int, typer.Option(help="Jobs at the same time with --pool threads.")] = 1,
    data_dir: DataDir = default_data_dir(),
    base_model: Annotated[str | None, typer.Option(help="Diffusers pipeline folder or hub id.")] = None,
    device: Annotated[str, typer.Option(help="torch device for the engine.")] = "cpu",
    width: ImageWidth = None,
    height: ImageHeight = None,
    inference_steps: Annotated[int, typer.Option(help="Denoising steps per generated image.")] = 25,
    allow_fetch_from: Annotated[list[str] | None, typer.Option(
        "--allow-fetch-from", envvar="IMPRINT_ALLOW_FETCH_FROM", show_default=False,
        help="A private network (CIDR) training image URLs may point into. Repeatable; the environment "
             "variable takes a comma-separated list.")] = None,
    loglevel: Annotated[str, typer.Option(help="Celery's log level.")] = "INFO",
    captioner: Captioner = "auto",
    metrics_port: Annotated[int | None, typer.Option(
        help="Serve this worker's Prometheus metrics (training and generation durations, engine steps/s, "
             "adapter cache) on this port at /metrics.", show_default=False)] = None,
    metrics_host: Annotated[str, typer.Option(help="Address the metrics port listens on.")] = "0.0.0.0",
    mock: Annotated[bool, typer.Option("--mock", help="No model: the placeholder engine of serve --mock.")]
        = False,
    keep_training_photos: KeepTrainingPhotos = False,
) -> None:
    """Run a job worker: consumes the train and infer queues that `imprint serve --queue-url` fills."""
    from imprint.ingest import parse_networks

    if not queue_url:
        raise _fail("a worker needs --queue-url (or IMPRINT_QUEUE_URL), the Redis URL the API processes use")
    if pool not in ("solo", "threads"):
        raise typer.BadParameter("solo or threads", param_hint="--pool")
    if not mock and base_model is None and not (bundled_base_model() / "model_index.json").is_file():
        raise _fail(f"the bundled base model is missing ({bundled_base_model()}); pass --base-model")
    if not mock:
        check_base_model(base_model or str(bundled_base_model()))
    try:
        networks = parse_networks(allow_fetch_from or ())
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--allow-fetch-from") from None
    lanes = _lanes(queues)
    from imprint.logs import configure_logging

    configure_logging("debug" if loglevel.lower() == "debug" else "info")
    settings = Settings(data_dir=data_dir, base_model=base_model, device=device, database_url=database_url,
                        blob_url=blob_url, queue_url=queue_url, default_inference_steps=inference_steps,
                        allow_fetch_from=tuple(str(n) for n in networks), captioner=captioner,
                        keep_training_photos=keep_training_photos, mock=mock, image_width=width,
                        image_height=height)
    from imprint.worker.celery_worker import build_worker

    if metrics_port is not None:
        from imprint.metrics import serve_worker_metrics

        serve_worker_metrics(metrics_port, metrics_host)
        console.print(f"worker metrics on http://{metrics_host}:{metrics_port}/metrics")

    code = build_worker(settings).run(queues=lanes, pool=pool, concurrency=concurrency, loglevel=loglevel)
    raise typer.Exit(code)
