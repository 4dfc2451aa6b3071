"""Tiny random-weight pipelines that keep each supported family's real architecture, saved as folders.

- SD 1.5: four down blocks (three with cross-attention), two layers per block, a 4-channel VAE with
  four blocks (8x down), one CLIP text encoder, and a CLIP tokenizer with the real CLIP vocabulary
  (tests/data/clip, 49,408 tokens, 77 positions).
- SDXL: three down blocks (the last two with cross-attention, 1 and 2 transformer layers), linear
  projections, `text_time` added embeddings from two text encoders (CLIP + CLIP with projection,
  tokenizers padding with "<|endoftext|>" and "!" as SDXL's do), EulerDiscreteScheduler.
Widths are cut to a few channels so training and sampling run in seconds on a CPU.

Also folders imprint must refuse: a FLUX-shaped pipeline (its model_index.json names FluxPipeline)
and a folder that is not a pipeline at all.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import torch
from diffusers import (
    AutoencoderKL,
    EulerDiscreteScheduler,
    PNDMScheduler,
    StableDiffusionPipeline,
    StableDiffusionXLPipeline,
    UNet2DConditionModel,
)
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer

from imprint.tiny.tokenizer import BOS, EOS, bytes_to_unicode

VOCAB_GZ = Path(__file__).parent / "data" / "clip" / "bpe_simple_vocab_16e6.txt.gz"
# SD's noise schedule, as its scheduler configs publish it.
SD_SCHEDULE = dict(
    num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
    steps_offset=1,
)


def save_clip_tokenizer(folder: Path, *, pad: str = EOS) -> CLIPTokenizer:
    """CLIP's tokenizer files (vocab.json, merges.txt), built from the BPE file the way CLIP builds its
    vocabulary: bytes, bytes + </w>, one entry per merge, then the two special tokens."""
    lines = gzip.decompress(VOCAB_GZ.read_bytes()).decode("utf-8").split("\n")
    merges = [tuple(line.split()) for line in lines[1 : 49152 - 256 - 2 + 1]]
    symbols = list(bytes_to_unicode().values())
    vocab = symbols + [s + "</w>" for s in symbols] + ["".join(m) for m in merges] + [BOS, EOS]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(vocab)}), encoding="utf-8")
    (folder / "merges.txt").write_text(
        "#version: 0.2\n" + "\n".join(" ".join(m) for m in merges) + "\n", encoding="utf-8"
    )
    config = {"tokenizer_class": "CLIPTokenizer", "model_max_length": 77, "bos_token": BOS, "eos_token": EOS,
              "unk_token": EOS, "pad_token": pad, "do_lower_case": True}
    (folder / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
    return CLIPTokenizer.from_pretrained(folder)


def _text_config(tokenizer: CLIPTokenizer, hidden: int, **extra: object) -> CLIPTextConfig:
    return CLIPTextConfig(
        vocab_size=len(tokenizer), hidden_size=hidden, intermediate_size=hidden * 2, num_hidden_layers=2,
        num_attention_heads=2, max_position_embeddings=77, bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, **extra,
    )


def _vae(scaling_factor: float) -> AutoencoderKL:
    return AutoencoderKL(
        block_out_channels=(8, 8, 16, 16), down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4, latent_channels=4, norm_num_groups=8, layers_per_block=1,
        sample_size=64, scaling_factor=scaling_factor,
    )


def save_tiny_sd15(folder: Path, *, seed: int = 0) -> Path:
    """A StableDiffusionPipeline folder with SD 1.5's layout at a few channels (64 px images)."""
    torch.manual_seed(seed)
    tokenizer = save_clip_tokenizer(folder.with_name(folder.name + "-tokenizer"))
    unet = UNet2DConditionModel(
        sample_size=8, in_channels=4, out_channels=4, layers_per_block=2, block_out_channels=(16, 16, 32, 32),
        down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
        up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3,
        cross_attention_dim=32, attention_head_dim=8, norm_num_groups=8,
    )
    pipe = StableDiffusionPipeline(
        vae=_vae(0.18215), text_encoder=CLIPTextModel(_text_config(tokenizer, 32)), tokenizer=tokenizer,
        unet=unet, scheduler=PNDMScheduler(**SD_SCHEDULE, skip_prk_steps=True), safety_checker=None,
        feature_extractor=None, requires_safety_checker=False,
    )
    pipe.save_pretrained(folder, safe_serialization=True)
    return folder


def save_tiny_sdxl(folder: Path, *, seed: int = 0) -> Path:
    """A StableDiffusionXLPipeline folder with SDXL's layout at a few channels (64 px images)."""
    torch.manual_seed(seed)
    tokenizer = save_clip_tokenizer(folder.with_name(folder.name + "-tokenizer"))
    tokenizer_2 = save_clip_tokenizer(folder.with_name(folder.name + "-tokenizer-2"), pad="!")
    text_time_dim = 8
    unet = UNet2DConditionModel(
        sample_size=8, in_channels=4, out_channels=4, layers_per_block=2, block_out_channels=(16, 32, 32),
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
        transformer_layers_per_block=(1, 1, 2), attention_head_dim=(2, 4, 4), use_linear_projection=True,
        cross_attention_dim=64, addition_embed_type="text_time", addition_time_embed_dim=text_time_dim,
        # SDXL's: six time ids of addition_time_embed_dim each, plus the pooled projection.
        projection_class_embeddings_input_dim=6 * text_time_dim + 32, norm_num_groups=8,
    )
    pipe = StableDiffusionXLPipeline(
        vae=_vae(0.13025),
        text_encoder=CLIPTextModel(_text_config(tokenizer, 32)),
        text_encoder_2=CLIPTextModelWithProjection(_text_config(tokenizer_2, 32, projection_dim=32)),
        tokenizer=tokenizer, tokenizer_2=tokenizer_2, unet=unet,
        scheduler=EulerDiscreteScheduler(**SD_SCHEDULE, timestep_spacing="leading"),
        force_zeros_for_empty_prompt=True, add_watermarker=False,
    )
    pipe.save_pretrained(folder, safe_serialization=True)
    return folder


def save_flux_shaped(folder: Path) -> Path:
    """What a FLUX.1 folder's model_index.json says (no weights are needed to refuse it)."""
    folder.mkdir(parents=True, exist_ok=True)
    index = {
        "_class_name": "FluxPipeline", "_diffusers_version": "0.30.0",
        "scheduler": ["diffusers", "FlowMatchEulerDiscreteScheduler"],
        "text_encoder": ["transformers", "CLIPTextModel"],
        "text_encoder_2": ["transformers", "T5EncoderModel"],
        "tokenizer": ["transformers", "CLIPTokenizer"],
        "tokenizer_2": ["transformers", "T5TokenizerFast"],
        "transformer": ["diffusers", "FluxTransformer2DModel"],
        "vae": ["diffusers", "AutoencoderKL"],
    }
    (folder / "model_index.json").write_text(json.dumps(index), encoding="utf-8")
    return folder


def save_not_a_pipeline(folder: Path) -> Path:
    """A lone model's folder (a UNet's config and weights), not a pipeline."""
    UNet2DConditionModel(
        sample_size=8, block_out_channels=(8, 16), down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), cross_attention_dim=8, norm_num_groups=8,
        layers_per_block=1,
    ).save_pretrained(folder)
    return folder
