"""`imprint generate`: a prompt in, PNG files out."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from imprint.cli.client.api import ImprintClient
from imprint.cli.client.connect import connected, err, fail
from imprint.cli.client.options import AccessKeyId, AccessKeySecret, AsJson, Endpoint, SecurityToken
from imprint.cli.client.output import ctrl_c_leaves, emit, follow_job, reason, warn
from imprint.cli.client.waiting import JobState

SPECIAL_TOKEN = "<special-token>"


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
        with ctrl_c_leaves(job_id):
            err.print(f"inference job {job_id} created", markup=False)
            warn(job)
            state = (follow_job(client, job_id, f"generating {image_number}") if follow
                     else JobState(job["jobStatus"], job["jobTrainProgress"], job.get("failureReason"), job))
        files = download(client, state.data, out_dir) if state.status == "FINISHED" else []
    if as_json:
        emit({"inferenceJobId": job_id, "promptId": state.data.get("promptId"), "status": state.status,
              "failureReason": state.failure_reason, "files": [str(f) for f in files]})
    else:
        for f in files:
            print(f)
        if not follow:
            print(job_id)
    if state.final and state.status != "FINISHED":
        raise fail(f"inference job {job_id} ended {state.status}: {reason(state)}")


def download(client: ImprintClient, job: dict[str, Any], out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    files = []
    for image_id in job.get("resultImageUrl") or []:
        data = client.image(model_id=job["modelId"], prompt_id=job["promptId"], image_id=image_id)
        target = out_dir / f"{job['id']}-{Path(image_id).stem}.png"
        target.write_bytes(data)
        files.append(target)
    return files
