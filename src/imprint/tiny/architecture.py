"""The shapes of imprint-tiny: a Stable Diffusion pipeline small enough to train on two CPU cores.

64x64 pixels <-> 16x16x16 latents (the VAE halves the side twice): diffusion in latent space is what
makes CPU training affordable (0.4 s per batch-16 UNet step instead of 1.6 s at 32x32 pixels).
"""

from __future__ import annotations

from dataclasses import dataclass

from diffusers import AutoencoderKL, DDPMScheduler, DPMSolverMultistepScheduler, UNet2DConditionModel
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

IMAGE_SIZE = 64
LATENT_SIZE = 16
# 16 channels rather than SD's 4 (as SD3 does): at 16x16, 4 channels (12x compression) and 8
# channels (6x) still blurred subjects into blobs after 400-600 VAE steps on two cores; 16 channels
# (3x) keep their details, and the UNet's cost hardly depends on them (only its first/last conv).
LATENT_CHANNELS = 16
# Classifier-free guidance the model is sampled with. Measured on 12 adapters x 3 draws of 48 images
# (docs/imprint-tiny.md): 3.0 / 4.0 kept the subject in 68% / 67% of images and the prompted scene
# in 87% / 90%; 5.5 and 7 lose subject detail, 2 loses the scene. Written into the exported folder.
GUIDANCE_SCALE = 4.0


@dataclass(frozen=True)
class TinyShape:
    vae_channels: tuple[int, ...] = (32, 64, 64)
    unet_channels: tuple[int, ...] = (64, 128, 128)
    unet_layers_per_block: int = 1
    text_hidden: int = 128
    text_layers: int = 3
    text_heads: int = 4


def build_vae(shape: TinyShape) -> AutoencoderKL:
    n = len(shape.vae_channels)
    return AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * n,
        up_block_types=("UpDecoderBlock2D",) * n,
        block_out_channels=shape.vae_channels,
        layers_per_block=1,
        latent_channels=LATENT_CHANNELS,
        norm_num_groups=16,
        sample_size=IMAGE_SIZE,
        # Attention over a 16x16 map costs more than it brings on flat cartoon images.
        mid_block_add_attention=False,
    )


def build_text_encoder(shape: TinyShape, tokenizer: CLIPTokenizer) -> CLIPTextModel:
    config = CLIPTextConfig(
        vocab_size=len(tokenizer),
        hidden_size=shape.text_hidden,
        intermediate_size=shape.text_hidden * 4,
        num_hidden_layers=shape.text_layers,
        num_attention_heads=shape.text_heads,
        max_position_embeddings=tokenizer.model_max_length,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    return CLIPTextModel(config)


def build_unet(shape: TinyShape) -> UNet2DConditionModel:
    return UNet2DConditionModel(
        sample_size=LATENT_SIZE,
        in_channels=LATENT_CHANNELS,
        out_channels=LATENT_CHANNELS,
        block_out_channels=shape.unet_channels,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
        layers_per_block=shape.unet_layers_per_block,
        cross_attention_dim=shape.text_hidden,
        attention_head_dim=8,
        norm_num_groups=32,
    )


def build_noise_scheduler() -> DDPMScheduler:
    # Stable Diffusion's schedule, so the same trainer and samplers serve SD 1.5 and this model.
    return DDPMScheduler(
        num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
        prediction_type="epsilon", steps_offset=1, clip_sample=False,
    )


def build_sampling_scheduler() -> DPMSolverMultistepScheduler:
    return DPMSolverMultistepScheduler.from_config(build_noise_scheduler().config,
                                                   algorithm_type="dpmsolver++")
