"""Exported adapters reload in a plain diffusers pipeline and draw imprint's image."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from diffusers import DPMSolverMultistepScheduler, StableDiffusionPipeline
from PIL import Image
from safetensors.torch import load as load_bytes

from imprint.engine import (
    AdapterInfo,
    BadInput,
    BaseModel,
    GenerateRequest,
    Generator,
    TrainConfig,
    train_adapter,
)
from imprint.engine.export import DIFFUSERS_WEIGHTS, README, export_adapter, trigger_word
from imprint.engine.train_config import ALL_LAYER_TARGETS

PROMPT = "a <special-token> on a beach"
STEPS, SEED = 4, 3


@pytest.fixture(scope="module")
def full_adapter(base: BaseModel, dog_images: list[Image.Image], adapters_dir: Path) -> AdapterInfo:
    """LoRA on every UNet layer (convolutions too) and on the text encoder: every key kind exports."""
    config = TrainConfig(steps=4, train_text_encoder=True, unet_targets=ALL_LAYER_TARGETS, learning_rate=5e-3)
    return train_adapter(base, dog_images, "dog", adapters_dir / "full.safetensors", config)


def _pixels(images: list[Image.Image]) -> np.ndarray:
    return np.stack([np.asarray(i, dtype=np.float32) for i in images])


def _plain_pipeline(folder: Path) -> StableDiffusionPipeline:
    pipe = StableDiffusionPipeline.from_pretrained(folder, safety_checker=None, local_files_only=True)
    pipe.scheduler = DPMSolverMultistepScheduler.from_config(
        pipe.scheduler.config, algorithm_type="dpmsolver++"
    )
    pipe.set_progress_bar_config(disable=True)
    return pipe


def _plain_images(pipe: StableDiffusionPipeline, prompt: str, guidance: float) -> list[Image.Image]:
    return pipe(prompt, num_inference_steps=STEPS, guidance_scale=guidance,
                generator=[torch.Generator().manual_seed(SEED)]).images


@pytest.mark.parametrize("fmt", ["kohya", "diffusers"])
def test_export_reloads_in_plain_diffusers(
    fmt: str, base: BaseModel, pipeline_folder: Path, full_adapter: AdapterInfo, tmp_path: Path
) -> None:
    data = full_adapter.path.read_bytes()
    files = export_adapter(data, fmt=fmt, base_model=base)
    trigger = trigger_word(data)
    for name, content in files.items():
        (tmp_path / name).write_bytes(content)
    weights = next(n for n in files if n not in (README, f"{trigger}.safetensors"))
    lora_keys = list(load_bytes(files[weights]))
    if fmt == "kohya":
        assert all(k.startswith(("lora_unet_", "lora_te1_")) for k in lora_keys)
        kinds = {k.removesuffix(".weight").rsplit(".", 1)[-1] for k in lora_keys}
        assert kinds == {"lora_down", "lora_up", "alpha"}
        assert any(k.startswith("lora_te1_") for k in lora_keys)
        assert any("resnets" in k and "conv1" in k for k in lora_keys)  # convolution LoRA exported too
    else:
        assert weights == DIFFUSERS_WEIGHTS
        assert any(k.startswith("text_encoder.") for k in lora_keys)
    assert f"Trigger phrase: {trigger} dog" in files[README].decode()

    generator = Generator(base)
    ours = generator.generate(GenerateRequest(PROMPT, adapter=full_adapter.path, steps=STEPS, seed=SEED))
    pipe = _plain_pipeline(pipeline_folder)
    prompt = PROMPT.replace("<special-token>", f"{trigger} dog")
    bare = _plain_images(pipe, prompt.replace(f"{trigger} ", ""), base.guidance_scale)
    pipe.load_lora_weights(str(tmp_path), weight_name=weights)
    pipe.load_textual_inversion(str(tmp_path / f"{trigger}.safetensors"), token=trigger)
    theirs = _plain_images(pipe, prompt, base.guidance_scale)

    pipe.unload_lora_weights()
    no_lora = _plain_images(pipe, prompt, base.guidance_scale)
    diff = np.abs(_pixels(ours) - _pixels(theirs))
    assert diff.max() <= 3, diff.max()
    # ...and both parts matter: without the LoRA, or without the adapter, the picture is another one.
    for other in (no_lora, bare):
        assert np.abs(_pixels(ours) - _pixels(other)).mean() > 10 * max(diff.mean(), 0.1)


def test_export_refuses_unknown_format_and_non_adapters(dog_adapter: AdapterInfo) -> None:
    with pytest.raises(BadInput, match="unknown export format"):
        export_adapter(dog_adapter.path.read_bytes(), fmt="ckpt", base_model=None)
    with pytest.raises(BadInput):
        export_adapter(b"not a safetensors file", fmt="kohya", base_model=None)
