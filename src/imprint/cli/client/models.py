"""`imprint models list|show|delete|export`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from imprint.cli.client.api import ImprintClient
from imprint.cli.client.connect import connected, fail, out
from imprint.cli.client.jobs_view import training_state
from imprint.cli.client.options import AccessKeyId, AccessKeySecret, AsJson, Endpoint, SecurityToken
from imprint.cli.client.output import emit, percent, print_rows

app = typer.Typer(help="Your models (personalizations) on the server.", no_args_is_help=True)


def _model_row(m: dict[str, Any]) -> dict[str, Any]:
    return {"modelId": m["modelId"], "name": m["name"], "objectType": m["objectType"],
            "status": m["jobStatus"], "progress": m["jobTrainProgress"], "createTime": m["createTime"],
            "images": m.get("inferenceImageCount", 0), "failureReason": m.get("failureReason")}


@app.command("list")
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
        row["progress"] = percent(row["progress"])
    print_rows(rows, ["modelId", "name", "objectType", "status", "progress", "images", "createTime"])


def find_model(client: ImprintClient, model_id: str) -> dict[str, Any]:
    for m in client.list_models():
        if m["modelId"] == model_id:
            return m
    # The status query gives the server's own not-found error (and answers for models the list omits).
    training_state(client, model_id)
    raise fail(f"model {model_id} is not among your models")


@app.command("show")
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
    out.print(f"{'progress':15} {percent(model['jobTrainProgress'])}", markup=False)
    out.print(f"{'photos':15} {len(model['imageUrl'])}", markup=False)
    for job in model.get("inferenceJobList") or []:
        out.print(f"{'job ' + job['id']:15} {job['jobStatus']} {percent(job['jobTrainProgress'])} "
                  f"{len(job.get('resultImageUrl') or [])} images", markup=False)


@app.command("delete")
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


@app.command("export")
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
