"""Assembles the imprint-tiny parts into a diffusers Stable Diffusion pipeline folder.

Also builds random-weight pipelines of the same shape (or a smaller one) for tests: the real code
paths (tokenizer, text encoder, UNet, VAE, schedulers, LoRA) run on them in seconds.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from diffusers import AutoencoderKL, StableDiffusionPipeline, UNet2DConditionModel
from transformers import CLIPTextModel, CLIPTokenizer

from imprint.engine.base_model import SAMPLING_FILE
from imprint.tiny.architecture import (
    GUIDANCE_SCALE,
    TinyShape,
    build_sampling_scheduler,
    build_text_encoder,
    build_unet,
    build_vae,
)
from imprint.tiny.tokenizer import save_tokenizer

# Small enough that a test trains an adapter in a few seconds on one CPU core.
TEST_SHAPE = TinyShape(vae_channels=(16, 32, 32), unet_channels=(32, 32, 64), text_hidden=64, text_layers=2,
                       text_heads=2)


def save_pipeline(
    folder: Path,
    *,
    vae: AutoencoderKL,
    text_encoder: CLIPTextModel,
    tokenizer: CLIPTokenizer,
    unet: UNet2DConditionModel,
) -> Path:
    pipe = StableDiffusionPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=unet,
        scheduler=build_sampling_scheduler(),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipe.save_pretrained(folder, safe_serialization=True)
    sampling = json.dumps({"guidance_scale": GUIDANCE_SCALE}) + "\n"
    (folder / SAMPLING_FILE).write_text(sampling, encoding="utf-8")
    return folder


def save_random_pipeline(folder: Path, *, shape: TinyShape = TEST_SHAPE, seed: int = 0) -> Path:
    """A loadable pipeline folder with random weights: for tests and benchmarks of the code paths."""
    torch.manual_seed(seed)
    save_tokenizer(folder / "tokenizer")
    tokenizer = CLIPTokenizer.from_pretrained(folder / "tokenizer")
    vae = build_vae(shape)
    vae.register_to_config(scaling_factor=1.0)
    return save_pipeline(folder, vae=vae, text_encoder=build_text_encoder(shape, tokenizer),
                         tokenizer=tokenizer, unet=build_unet(shape))
