"""`imprint login`, `train`, `generate`, `models ...` and `jobs ...`: the client commands."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from imprint.cli.client.api import ApiError, ImprintClient
from imprint.cli.client.connect import connected, err, fail, out
from imprint.cli.client.jobs_view import follow_hint, inference_state, is_inference_job_id, training_state
from imprint.cli.client.options import AccessKeyId, AccessKeySecret, AsJson, Endpoint, SecurityToken
from imprint.cli.client.profile import DEFAULT_ENDPOINT, Profile, write_profile
from imprint.cli.client.waiting import JobState, StoppedWaiting, wait

SPECIAL_TOKEN = "<special-token>"
URL_SCHEMES = ("http://", "https://", "imprint://")

models_app = typer.Typer(help="Your models (personalizations) on the server.", no_args_is_help=True)
jobs_app = typer.Typer(help="Training and generation jobs: list, show, follow.", no_args_is_help=True)


def emit(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=None))


def login(
    endpoint: Annotated[str, typer.Option("--endpoint", envvar="IMPRINT_ENDPOINT", prompt=True,
                                          help="The imprint server.")] = DEFAULT_ENDPOINT,
    access_key_id: Annotated[str, typer.Option("--access-key-id", envvar="ALIBABA_CLOUD_ACCESS_KEY_ID",
                                               prompt=True, help="AccessKey ID.")] = "",
    access_key_secret: Annotated[str, typer.Option(
        "--access-key-secret", envvar="ALIBABA_CLOUD_ACCESS_KEY_SECRET", prompt=True, hide_input=True,
        help="AccessKey secret (asked for without echo when not given).")] = "",
    security_token: SecurityToken = None,
    as_json: AsJson = False,
) -> None:
    """Check the credentials against the server and save them as the profile (mode 0600)."""
    profile = Profile(endpoint.rstrip("/"), access_key_id, access_key_secret, security_token or None)
    with ImprintClient(profile.endpoint, profile.credentials) as client:
        try:
            count = len(client.list_models())
        except ApiError as exc:
            raise fail(f"the server refused these credentials: {exc.code}: {exc.message}") from None
    path = write_profile(profile)
    if as_json:
        emit({"endpoint": profile.endpoint, "accessKeyId": profile.access_key_id, "profile": str(path),
              "models": count})
    else:
        out.print(f"Signed in to {profile.endpoint} as {profile.access_key_id} ({count} models). "
                  f"Profile saved to {path} (readable by you only).", markup=False, soft_wrap=True)


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


def _follow(client: ImprintClient, job_id: str, label: str) -> JobState:
    poll = ((lambda: inference_state(client, job_id)) if is_inference_job_id(job_id)
            else (lambda: training_state(client, job_id)))
    try:
        return wait(poll, label=label, console=err)
    except StoppedWaiting:
        err.print(f"Stopped waiting; the job goes on on the server. Follow it with: {follow_hint(job_id)}",
                  markup=False, soft_wrap=True)
        raise typer.Exit(130) from None


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
        err.print(f"training job created: model {model_id}", markup=False, soft_wrap=True)
        warn(job)
        state = (JobState(job["jobStatus"], job["jobTrainProgress"], job.get("failureReason"), job)
                 if not follow or job["jobStatus"] == "TOO_MANY_INFERENCE_REQUESTS"
                 else _follow(client, model_id, f"training {name}"))
    result = {"modelId": model_id, "status": state.status, "progress": state.progress,
              "failureReason": state.failure_reason}
    if as_json:
        emit(result)
    elif state.status in ("FINISHED",) or not follow and not state.final:
        print(model_id)
    if state.final and state.status != "FINISHED":
        raise fail(f"training of {model_id} ended {state.status}: {_reason(state)}")


def generate(
    model_id: Annotated[str, typer.Argument(help="The model to draw.")],
    prompt: Annotated[str, typer.Argument(help=f"What to draw; {SPECIAL_TOKEN} stands for your subject.")],
    image_number: Annotated[int, typer.Option("-n", "--image-number", min=1, max=10,
                                              help="How many images.")] = 1,
    out_dir: Annotated[Path, typer.Option("--out", help="Folder the PNGs are written to.")] = Path("."),
    seed: Annotated[int | None, typer.Option("--seed", help="Seed (default: the server picks one).")] = None,
    negative_prompt: Annotated[str | None, typer.Option("--negative-prompt", help="What not to draw.")]
        = None,
    steps: Annotated[int | None, typer.Option("--steps", help="Denoising steps (1-200).")] = None,
    guidance_scale: Annotated[float | None, typer.Option("--guidance-scale",
                                                         help="Classifier-free guidance.")] = None,
    width: Annotated[int | None, typer.Option("--width", help="Width in pixels, a multiple of 8.")] = None,
    height: Annotated[int | None, typer.Option("--height", help="Height in pixels, a multiple of 8.")] = None,
    adapter_scale: Annotated[float | None, typer.Option("--adapter-scale", help="How strongly the "
                                                        "subject's adapter applies (0-2).")] = None,
    scheduler: Annotated[str | None, typer.Option("--scheduler", help="dpmpp_2m, euler_a, euler or ddim.")]
        = None,
    follow: Annotated[bool, typer.Option("--wait/--no-wait", help="Wait and download the images.")] = True,
    endpoint: Endpoint = None, access_key_id: AccessKeyId = None, access_key_secret: AccessKeySecret = None,
    security_token: SecurityToken = None, as_json: AsJson = False,
) -> None:
    """Generate images of a trained model and write them as PNG files."""
    if SPECIAL_TOKEN not in prompt:
        err.print(f"note: the prompt has no {SPECIAL_TOKEN}, so your subject is not asked for", markup=False)
    body: dict[str, Any] = {"modelId": model_id, "prompt": prompt, "imageNumber": image_number}
    controls = {"seed": seed, "negativePrompt": negative_prompt, "steps": steps,
                "guidanceScale": guidance_scale, "width": width, "height": height,
                "adapterScale": adapter_scale, "scheduler": scheduler}
    # Only what was asked for: absent fields keep the server's defaults, and it validates each one.
    body.update({name: value for name, value in controls.items() if value is not None})
    with connected(endpoint, access_key_id, access_key_secret, security_token) as client:
        job = client.add_inference_job(body)
        job_id = job["id"]
        err.print(f"inference job {job_id} created", markup=False)
        warn(job)
        state = (_follow(client, job_id, f"generating {image_number}") if follow
                 else JobState(job["jobStatus"], job["jobTrainProgress"], job.get("failureReason"), job))
        files = _download(client, state.data, out_dir) if state.status == "FINISHED" else []
    if as_json:
        emit({"inferenceJobId": job_id, "promptId": state.data.get("promptId"), "status": state.status,
              "failureReason": state.failure_reason, "files": [str(f) for f in files]})
    else:
        for f in files:
            print(f)
        if not follow:
            print(job_id)
    if state.final and state.status != "FINISHED":
        raise fail(f"inference job {job_id} ended {state.status}: {_reason(state)}")


def warn(job: dict[str, Any]) -> None:
    """What the server says about the job it accepted (capped counts, unknown words...)."""
    for text in job.get("warnings") or []:
        err.print(f"warning: {text}", markup=False, soft_wrap=True)


def _reason(state: JobState) -> str:
    return state.failure_reason or "no reason given"


def _download(client: ImprintClient, job: dict[str, Any], out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    files = []
    for image_id in job.get("resultImageUrl") or []:
        data = client.image(model_id=job["modelId"], prompt_id=job["promptId"], image_id=image_id)
        target = out_dir / f"{job['id']}-{Path(image_id).stem}.png"
        target.write_bytes(data)
        files.append(target)
    return files


# --- models -------------------------------------------------------------------------------------
def _pct(progress: Any) -> str:
    return f"{float(progress or 0) * 100:.0f}%"


def _model_row(m: dict[str, Any]) -> dict[str, Any]:
    return {"modelId": m["modelId"], "name": m["name"], "objectType": m["objectType"],
            "status": m["jobStatus"], "progress": m["jobTrainProgress"], "createTime": m["createTime"],
            "images": m.get("inferenceImageCount", 0), "failureReason": m.get("failureReason")}


def _print_rows(rows: list[dict[str, Any]], columns: list[str]) -> None:
    """A table on a terminal; tab-separated lines (with a header) elsewhere."""
    if out.is_terminal:
        table = Table(*columns)
        for row in rows:
            table.add_row(*(str(row[c]) if row[c] is not None else "" for c in columns))
        out.print(table)
        return
    print("\t".join(columns))
    for row in rows:
        print("\t".join("" if row[c] is None else str(row[c]) for c in columns))


@models_app.command("list")
def models_list(endpoint: Endpoint = None, access_key_id: AccessKeyId = None,
                access_key_secret: AccessKeySecret = None, security_token: SecurityToken = None,
                as_json: AsJson = False) -> None:
    """List your models with status and progress."""
    with connected(endpoint, access_key_id, access_key_secret, security_token) as client:
        rows = [_model_row(m) for m in client.list_models()]
    if as_json:
        emit(rows)
        return
    for row in rows:
        row["progress"] = _pct(row["progress"])
    _print_rows(rows, ["modelId", "name", "objectType", "status", "progress", "images", "createTime"])


def find_model(client: ImprintClient, model_id: str) -> dict[str, Any]:
    for m in client.list_models():
        if m["modelId"] == model_id:
            return m
    # The status query gives the server's own not-found error (and answers for models the list omits).
    training_state(client, model_id)
    raise fail(f"model {model_id} is not among your models")


@models_app.command("show")
def models_show(model_id: Annotated[str, typer.Argument(help="Model id.")], endpoint: Endpoint = None,
                access_key_id: AccessKeyId = None, access_key_secret: AccessKeySecret = None,
                security_token: SecurityToken = None, as_json: AsJson = False) -> None:
    """Show one model: status, photos, failure reason and its generation jobs."""
    with connected(endpoint, access_key_id, access_key_secret, security_token) as client:
        model = find_model(client, model_id)
    if as_json:
        emit(model)
        return
    for key in ("modelId", "name", "objectType", "jobStatus", "createTime", "failureReason"):
        if model.get(key) is not None:
            out.print(f"{key:15} {model[key]}", markup=False, soft_wrap=True)
    out.print(f"{'progress':15} {_pct(model['jobTrainProgress'])}", markup=False)
    out.print(f"{'photos':15} {len(model['imageUrl'])}", markup=False)
    for job in model.get("inferenceJobList") or []:
        out.print(f"{'job ' + job['id']:15} {job['jobStatus']} {_pct(job['jobTrainProgress'])} "
                  f"{len(job.get('resultImageUrl') or [])} images", markup=False)


@models_app.command("delete")
def models_delete(
    model_id: Annotated[str, typer.Argument(help="Model id.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    endpoint: Endpoint = None, access_key_id: AccessKeyId = None, access_key_secret: AccessKeySecret = None,
    security_token: SecurityToken = None, as_json: AsJson = False,
) -> None:
    """Delete a model with its adapter, training photos, generation jobs and images (a running job
    is cancelled first)."""
    if not yes and not typer.confirm(f"Delete {model_id}, its photos, jobs and images for good?",
                                     err=True, default=False):
        raise fail("not deleted (pass --yes to skip this question)")
    with connected(endpoint, access_key_id, access_key_secret, security_token) as client:
        result = client.delete_model(model_id)
    if as_json:
        emit(result)
    else:
        out.print(f"deleted {model_id} ({len(result.get('deletedInferenceJobs') or [])} jobs, "
                  f"{result.get('deletedImages', 0)} images)", markup=False)


EXPORT_FORMATS = ("safetensors", "kohya", "diffusers")


@models_app.command("export")
def models_export(
    model_id: Annotated[str, typer.Argument(help="Model id.")],
    fmt: Annotated[str, typer.Option("--format", help="safetensors (the adapter as stored), kohya or "
                                                      "diffusers (files for other tools).")] = "safetensors",
    out_path: Annotated[Path | None, typer.Option("--out", help="File or folder to write to (default: the "
                                                                "server's file name, here).")] = None,
    endpoint: Endpoint = None, access_key_id: AccessKeyId = None, access_key_secret: AccessKeySecret = None,
    security_token: SecurityToken = None, as_json: AsJson = False,
) -> None:
    """Download a trained model's adapter."""
    if fmt not in EXPORT_FORMATS:
        raise fail(f"--format must be one of {', '.join(EXPORT_FORMATS)}", 2)
    with connected(endpoint, access_key_id, access_key_secret, security_token) as client:
        name, data = client.download_model(model_id, fmt)
    # The server names the file; only its last part is used, so it cannot point outside --out.
    name = Path(name).name or f"{model_id}.bin"
    target = out_path / name if out_path is not None and out_path.is_dir() else out_path or Path(name)
    target.write_bytes(data)
    if as_json:
        emit({"modelId": model_id, "format": fmt, "file": str(target), "size": len(data)})
    else:
        print(target)


# --- jobs ---------------------------------------------------------------------------------------
def _job_rows(models: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for m in models:
        rows.append({"id": m["modelId"], "kind": "training", "modelId": m["modelId"],
                     "status": m["jobStatus"],
                     "progress": m["jobTrainProgress"], "createTime": m["createTime"],
                     "failureReason": m.get("failureReason")})
        for j in m.get("inferenceJobList") or []:
            rows.append({"id": j["id"], "kind": "inference", "modelId": m["modelId"],
                         "status": j["jobStatus"],
                         "progress": j["jobTrainProgress"], "createTime": j["createTime"],
                         "failureReason": j.get("failureReason")})
    return sorted(rows, key=lambda r: r["createTime"])


@jobs_app.command("list")
def jobs_list(endpoint: Endpoint = None, access_key_id: AccessKeyId = None,
              access_key_secret: AccessKeySecret = None, security_token: SecurityToken = None,
              as_json: AsJson = False) -> None:
    """List training jobs (named by model id) and inference jobs (numbers), oldest first."""
    with connected(endpoint, access_key_id, access_key_secret, security_token) as client:
        rows = _job_rows(client.list_models())
    if as_json:
        emit(rows)
        return
    for row in rows:
        row["progress"] = _pct(row["progress"])
    _print_rows(rows, ["id", "kind", "modelId", "status", "progress", "createTime"])


@jobs_app.command("show")
def jobs_show(
    job_id: Annotated[str, typer.Argument(help="A model id (its training) or an inference job id.")],
    follow: Annotated[bool, typer.Option("--follow", help="Wait with a progress bar until it ends.")] = False,
    endpoint: Endpoint = None, access_key_id: AccessKeyId = None, access_key_secret: AccessKeySecret = None,
    security_token: SecurityToken = None, as_json: AsJson = False,
) -> None:
    """Show a job's status, progress and failure reason; --follow waits for it."""
    with connected(endpoint, access_key_id, access_key_secret, security_token) as client:
        if follow:
            state = _follow(client, job_id, f"job {job_id}")
        elif is_inference_job_id(job_id):
            state = inference_state(client, job_id)
        else:
            state = training_state(client, job_id)
    if as_json:
        emit({**state.data, "status": state.status, "progress": state.progress,
              "failureReason": state.failure_reason})
        return
    out.print(f"{job_id}: {state.status} {_pct(state.progress)}", markup=False)
    if state.failure_reason:
        out.print(f"reason: {state.failure_reason}", markup=False, soft_wrap=True)
    for image_id in (state.data or {}).get("resultImageUrl") or []:
        out.print(f"image: {image_id}", markup=False)


@jobs_app.command("cancel")
def jobs_cancel(
    job_id: Annotated[str, typer.Argument(help="A model id (cancels its training) or an inference job id.")],
    endpoint: Endpoint = None, access_key_id: AccessKeyId = None, access_key_secret: AccessKeySecret = None,
    security_token: SecurityToken = None, as_json: AsJson = False,
) -> None:
    """Cancel a training or generation that has not ended; cancelling twice is harmless."""
    with connected(endpoint, access_key_id, access_key_secret, security_token) as client:
        if is_inference_job_id(job_id):
            job = client.cancel_inference_job(job_id)
        else:
            job = client.cancel_model_train_job(job_id)
    if as_json:
        emit(job)
    else:
        out.print(f"{job_id}: {job['jobStatus']} ({job.get('failureReason') or 'cancelled'})", markup=False)
