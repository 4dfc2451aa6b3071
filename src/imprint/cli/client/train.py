"""`imprint train`: photos (uploaded) or URLs in, a trained model's id out."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from imprint.cli.client.api import ApiError, ImprintClient
from imprint.cli.client.connect import connected, err, fail
from imprint.cli.client.options import AccessKeyId, AccessKeySecret, AsJson, Endpoint, SecurityToken
from imprint.cli.client.output import ctrl_c_leaves, emit, follow_job, reason, warn
from imprint.cli.client.waiting import JobState

URL_SCHEMES = ("http://", "https://", "imprint://")


def _photo_urls(client: ImprintClient, photos: list[str]) -> list[str]:
    """URLs as given; local files uploaded first (each vetted by the server as it arrives)."""
    files = [p for p in photos if not p.startswith(URL_SCHEMES)]
    for name in files:
        if not Path(name).is_file():
            raise fail(f"{name} is neither a file nor an http(s) URL")
    urls = []
    done = 0
    for item in photos:
        if item.startswith(URL_SCHEMES):
            urls.append(item)
            continue
        try:
            answer = client.upload_image(Path(item).read_bytes())
        except ApiError as exc:
            raise fail(f"{item} was refused: {exc.message}") from None
        done += 1
        err.print(f"uploaded {item} ({done}/{len(files)})", markup=False, soft_wrap=True)
        urls.append(answer["imageUrl"])
    return urls


def train(
    photos: Annotated[list[str], typer.Argument(help="Photo files (uploaded) or image URLs.",
                                                show_default=False)],
    object_type: Annotated[str, typer.Option("--object-type", help="What the subject is: dog, cat, girl...")],
    name: Annotated[str, typer.Option("--name", help="A name for the model.")],
    steps: Annotated[int | None, typer.Option("--steps", help="Training steps (default: the server's).")]
        = None,
    follow: Annotated[bool, typer.Option("--wait/--no-wait", help="Wait until the model is ready.")] = True,
    endpoint: Endpoint = None, access_key_id: AccessKeyId = None, access_key_secret: AccessKeySecret = None,
    security_token: SecurityToken = None, as_json: AsJson = False,
) -> None:
    """Train a model on photos of one subject; prints its model id once it is ready."""
    with connected(endpoint, access_key_id, access_key_secret, security_token) as client:
        urls = _photo_urls(client, photos)
        job = client.add_model_train_job(name=name, object_type=object_type, image_urls=urls,
                                         train_steps=steps)
        model_id = job["modelId"]
        with ctrl_c_leaves(model_id):
            err.print(f"training job created: model {model_id}", markup=False, soft_wrap=True)
            warn(job)
            state = (JobState(job["jobStatus"], job["jobTrainProgress"], job.get("failureReason"), job)
                     if not follow or job["jobStatus"] == "TOO_MANY_INFERENCE_REQUESTS"
                     else follow_job(client, model_id, f"training {name}"))
    result = {"modelId": model_id, "status": state.status, "progress": state.progress,
              "failureReason": state.failure_reason}
    if as_json:
        emit(result)
    elif state.status in ("FINISHED",) or not follow and not state.final:
        print(model_id)
    if state.final and state.status != "FINISHED":
        raise fail(f"training of {model_id} ended {state.status}: {reason(state)}")
