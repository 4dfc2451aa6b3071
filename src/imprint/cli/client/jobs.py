"""`imprint jobs list|show|cancel`: training jobs (named by model id) and inference jobs (numbers)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from imprint.cli.client.connect import connected, out
from imprint.cli.client.jobs_view import inference_state, is_inference_job_id, training_state
from imprint.cli.client.options import AccessKeyId, AccessKeySecret, AsJson, Endpoint, SecurityToken
from imprint.cli.client.output import ctrl_c_leaves, emit, follow_job, percent, print_rows

app = typer.Typer(help="Training and generation jobs: list, show, follow, cancel.", no_args_is_help=True)


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


@app.command("list")
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
        row["progress"] = percent(row["progress"])
    print_rows(rows, ["id", "kind", "modelId", "status", "progress", "createTime"])


@app.command("show")
def jobs_show(
    job_id: Annotated[str, typer.Argument(help="A model id (its training) or an inference job id.")],
    follow: Annotated[bool, typer.Option("--follow", help="Wait with a progress bar until it ends.")] = False,
    endpoint: Endpoint = None, access_key_id: AccessKeyId = None, access_key_secret: AccessKeySecret = None,
    security_token: SecurityToken = None, as_json: AsJson = False,
) -> None:
    """Show a job's status, progress and failure reason; --follow waits for it."""
    with connected(endpoint, access_key_id, access_key_secret, security_token) as client:
        if follow:
            with ctrl_c_leaves(job_id):
                state = follow_job(client, job_id, f"job {job_id}")
        elif is_inference_job_id(job_id):
            state = inference_state(client, job_id)
        else:
            state = training_state(client, job_id)
    if as_json:
        emit({**state.data, "status": state.status, "progress": state.progress,
              "failureReason": state.failure_reason})
        return
    out.print(f"{job_id}: {state.status} {percent(state.progress)}", markup=False)
    if state.failure_reason:
        out.print(f"reason: {state.failure_reason}", markup=False, soft_wrap=True)
    for image_id in (state.data or {}).get("resultImageUrl") or []:
        out.print(f"image: {image_id}", markup=False)


@app.command("cancel")
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
