"""The whole service flow on SD 1.5 and SDXL architectures (tiny random weights) with the official SDK:
train, infer, fetch the image, export the adapter and reload it in a plain diffusers pipeline that
draws the served image again. Unsupported base models are refused before the server starts."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np
import pytest
import torch
from alibabacloud_aicontent20240611 import models as m
from apikit import ImageServer, png_bytes, running, settings_for, train_model, wait_for
from diffusers import DiffusionPipeline, DPMSolverMultistepScheduler
from families_kit import save_flux_shaped, save_not_a_pipeline, save_tiny_sd15, save_tiny_sdxl
from PIL import Image
from safetensors.torch import load_file
from typer.testing import CliRunner

from imprint.cli.main import app
from imprint.engine.export import export_adapter, trigger_word

PROMPT = "a <special-token> in the snow"
STEPS, SEED = 2, 7


def _infer_and_fetch(client, model_id: str) -> Image.Image:  # type: ignore[no-untyped-def]
    job = client.personalizedtxt_2img_add_inference_job(
        m.Personalizedtxt2imgAddInferenceJobRequest(
            model_id=model_id, prompt=PROMPT, image_number=1, seed=SEED
        )
    ).body.data
    done = wait_for(
        lambda: client.personalizedtxt_2img_query_inference_job_info(
            m.Personalizedtxt2imgQueryInferenceJobInfoRequest(inference_job_id=job.id)
        ).body.data,
        lambda d: d.job_status,
    )
    assert done.job_status == "FINISHED", done.to_map()
    text = client.personalizedtxt_2img_query_image_asset(
        m.Personalizedtxt2imgQueryImageAssetRequest(
            model_id=model_id, prompt_id=done.prompt_id, image_id=done.result_image_url[0],
            encode_format="base64",
        )
    ).body
    return Image.open(io.BytesIO(base64.b64decode(text))).convert("RGB")


def _reload(
    folder: Path, files: dict[str, bytes], trigger: str, out: Path, guidance: float
) -> list[Image.Image]:
    for name, content in files.items():
        (out / name).write_bytes(content)
    pipe = DiffusionPipeline.from_pretrained(folder, local_files_only=True)
    pipe.scheduler = DPMSolverMultistepScheduler.from_config(
        pipe.scheduler.config, algorithm_type="dpmsolver++"
    )
    pipe.set_progress_bar_config(disable=True)
    pipe.load_lora_weights(str(out), weight_name=f"{trigger}_lora.safetensors")
    rows = load_file(out / f"{trigger}.safetensors")
    if "clip_g" in rows:
        pipe.load_textual_inversion(rows["clip_l"], token=trigger, text_encoder=pipe.text_encoder,
                                    tokenizer=pipe.tokenizer)
        pipe.load_textual_inversion(rows["clip_g"], token=trigger, text_encoder=pipe.text_encoder_2,
                                    tokenizer=pipe.tokenizer_2)
    else:
        pipe.load_textual_inversion(rows["emb_params"], token=trigger)
    prompt = PROMPT.replace("<special-token>", f"{trigger} dog")
    return pipe(prompt, num_inference_steps=STEPS, guidance_scale=guidance,
                generator=[torch.Generator().manual_seed(SEED)]).images


@pytest.mark.slow
@pytest.mark.parametrize("family,build", [("sd", save_tiny_sd15), ("sdxl", save_tiny_sdxl)])
def test_sdk_flow_and_export_on_each_family(family: str, build, tmp_path: Path) -> None:  # type: ignore
    folder = build(tmp_path / family)
    images = ImageServer()
    try:
        urls = [images.add(f"dog{i}.png", png_bytes(i)) for i in range(2)]
        settings = settings_for(tmp_path / "data", folder, default_inference_steps=STEPS)
        with running(settings) as server:
            client = server.new_client()
            model_id = train_model(client, urls, steps=3)
            served = _infer_and_fetch(client, model_id)
            assert served.size == (64, 64)  # the family's native size
            adapters = list((settings.data_dir / "blobs").rglob("*.safetensors"))
            assert len(adapters) == 1
            files = export_adapter(adapters[0].read_bytes(), fmt="kohya", base_model=str(folder))
    finally:
        images.close()
    trigger = trigger_word(adapters[0].read_bytes())
    theirs = _reload(folder, files, trigger, tmp_path, 5.0 if family == "sdxl" else 7.5)[0]
    diff = np.abs(np.asarray(served, dtype=np.float32) - np.asarray(theirs, dtype=np.float32))
    assert diff.max() <= 3, diff.max()


@pytest.mark.parametrize("kind", ["flux", "not-a-pipeline"])
def test_serve_refuses_unsupported_base_models_before_starting(kind: str, tmp_path: Path) -> None:
    folder = save_flux_shaped(tmp_path / "m") if kind == "flux" else save_not_a_pipeline(tmp_path / "m")
    data = tmp_path / "data"
    for command in (["serve", "--port", "1"], ["worker", "--queue-url", "redis://127.0.0.1:1/0"]):
        result = CliRunner().invoke(app, [*command, "--base-model", str(folder), "--data-dir", str(data)])
        assert result.exit_code == 1, result.output
        text = " ".join(result.output.split())
        assert ("is a FluxPipeline" if kind == "flux" else "not a diffusers pipeline folder") in text
        assert "StableDiffusionPipeline (SD 1.x/2.x) and StableDiffusionXLPipeline (SDXL)" in text
        # Nothing was started: no database, no account, no port (1 is privileged and was never bound).
        assert not data.exists()
