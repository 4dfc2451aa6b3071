"""SDXL (`StableDiffusionXLPipeline`): two text encoders (CLIP ViT-L and OpenCLIP bigG) whose
penultimate hidden states are concatenated; the second one's pooled projection and the image's
size/crop "time ids" go to the UNet as added conditions (`addition_embed_type="text_time"`).

Follows `StableDiffusionXLPipeline.encode_prompt` and `__call__`: original size = target size = the
image's, crop (0, 0); with `force_zeros_for_empty_prompt` an absent negative prompt is zeros.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import torch
from diffusers import StableDiffusionXLPipeline
from torch import nn

from imprint.engine.conditioning import Conditioning
from imprint.engine.families.base import Family


class StableDiffusionXL(Family):
    name = "sdxl"
    label = "SDXL"
    pipeline_class = StableDiffusionXLPipeline
    text_parts = (("tokenizer", "text_encoder"), ("tokenizer_2", "text_encoder_2"))
    default_guidance_scale = 5.0  # StableDiffusionXLPipeline's

    def load_kwargs(self) -> dict[str, Any]:
        return {"add_watermarker": False}

    def load(self, source: str, **kwargs: Any) -> StableDiffusionXLPipeline:
        pipe = super().load(source, **kwargs)
        # SDXL's VAE overflows in fp16 (the pipeline upcasts it for every decode): keep it in fp32.
        if pipe.vae.dtype == torch.float16 and pipe.vae.config.get("force_upcast", False):
            pipe.vae.to(torch.float32)
        return pipe

    def working_pipeline(self, base: StableDiffusionXLPipeline, scheduler: Any) -> StableDiffusionXLPipeline:
        return StableDiffusionXLPipeline(
            vae=base.vae,
            text_encoder=copy.deepcopy(base.text_encoder),
            text_encoder_2=copy.deepcopy(base.text_encoder_2),
            tokenizer=copy.deepcopy(base.tokenizer),
            tokenizer_2=copy.deepcopy(base.tokenizer_2),
            unet=copy.deepcopy(base.unet),
            scheduler=scheduler,
            force_zeros_for_empty_prompt=base.config.force_zeros_for_empty_prompt,
            add_watermarker=False,
        )

    def encode_ids(
        self, text_encoders: Sequence[nn.Module], ids: Sequence[torch.Tensor], size: tuple[int, int]
    ) -> Conditioning:
        hidden, pooled = [], None
        for encoder, encoder_ids in zip(text_encoders, ids, strict=True):
            out = encoder(encoder_ids, output_hidden_states=True)
            pooled = out[0]  # only the last encoder's pooled projection is used
            hidden.append(out.hidden_states[-2])
        assert pooled is not None
        embeds = torch.cat(hidden, dim=-1)
        return Conditioning(embeds, {"text_embeds": pooled, "time_ids": _time_ids(embeds, size)})

    def unconditional(
        self, pipe: StableDiffusionXLPipeline, negatives: Sequence[str], size: tuple[int, int]
    ) -> Conditioning:
        empty = [not text for text in negatives]
        if not (pipe.config.force_zeros_for_empty_prompt and any(empty)):
            return self.encode(pipe, negatives, size)
        if all(empty):
            # Zeros for every row, as the pipeline gives, without running the encoders.
            encoders = self.text_encoders(pipe)
            length = self.tokenizers(pipe)[0].model_max_length
            width = sum(e.config.hidden_size for e in encoders)
            rows, last = len(negatives), encoders[-1]
            hidden = torch.zeros(rows, length, width, dtype=last.dtype, device=last.device)
            pooled = torch.zeros(rows, last.config.projection_dim, dtype=last.dtype, device=last.device)
            return Conditioning(hidden, {"text_embeds": pooled, "time_ids": _time_ids(hidden, size)})
        cond = self.encode(pipe, negatives, size)
        time_ids = cond.added["time_ids"]
        cond = cond.zero_rows(empty)
        cond.added["time_ids"] = time_ids  # the size conditions stay for unconditional rows
        return cond


def _time_ids(embeds: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(original height, width, crop top, left, target height, width) per row."""
    height, width = size
    ids = torch.tensor([[height, width, 0, 0, height, width]], dtype=embeds.dtype, device=embeds.device)
    return ids.repeat(embeds.shape[0], 1)
