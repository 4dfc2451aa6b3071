"""Stable Diffusion 1.x/2.x (`StableDiffusionPipeline`): one CLIP text encoder, whose last hidden
states condition the UNet; nothing else is added. imprint-tiny is one of these."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import torch
from diffusers import StableDiffusionPipeline
from torch import nn

from imprint.engine.conditioning import Conditioning
from imprint.engine.families.base import Family


class StableDiffusion(Family):
    name = "sd"
    label = "SD 1.x/2.x"
    pipeline_class = StableDiffusionPipeline
    text_parts = (("tokenizer", "text_encoder"),)
    default_guidance_scale = 7.5  # StableDiffusionPipeline's

    def load_kwargs(self) -> dict[str, Any]:
        return {"safety_checker": None, "feature_extractor": None, "requires_safety_checker": False}

    def working_pipeline(self, base: StableDiffusionPipeline, scheduler: Any) -> StableDiffusionPipeline:
        return StableDiffusionPipeline(
            vae=base.vae,
            text_encoder=copy.deepcopy(base.text_encoder),
            tokenizer=copy.deepcopy(base.tokenizer),
            unet=copy.deepcopy(base.unet),
            scheduler=scheduler,
            safety_checker=None,
            feature_extractor=None,
            requires_safety_checker=False,
        )

    def encode_ids(
        self, text_encoders: Sequence[nn.Module], ids: Sequence[torch.Tensor], size: tuple[int, int]
    ) -> Conditioning:
        # What StableDiffusionPipeline.encode_prompt computes for CLIP (no attention mask, no clip skip).
        return Conditioning(text_encoders[0](ids[0], return_dict=False)[0])
