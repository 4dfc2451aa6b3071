"""Training inputs prepared once, before the loop: image latents and text conditioning.

The common DreamBooth recipe runs the VAE encoder over every batch and the text encoder over every
caption of every batch, each step. Here each augmented view is VAE-encoded once and its latent
distribution (mean, std) cached, and a fresh sample is drawn from it each step, which is what the
per-step encode computes anyway, minus the encoder. Every instance caption is the same sentence, so
the text encoder runs on one row per step (and not at all for the class prompt, unless its LoRA trains).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from diffusers import AutoencoderKL
from PIL import Image
from transformers import CLIPTextModel, CLIPTokenizer

ENCODE_BATCH = 8


def pixels(images: Sequence[Image.Image]) -> torch.Tensor:
    """(N, 3, H, W) in [-1, 1], the VAE's input range."""
    array = np.stack([np.asarray(image, dtype=np.float32) for image in images]) / 127.5 - 1.0
    return torch.from_numpy(array).permute(0, 3, 1, 2).contiguous()


def scale_latents(vae: AutoencoderKL, latents: torch.Tensor) -> torch.Tensor:
    shift = getattr(vae.config, "shift_factor", None) or 0.0
    return (latents - shift) * vae.config.scaling_factor


class LatentCache:
    """Latent distributions of the training views, encoded once; `sample` draws a batch each step."""

    def __init__(self, mean: torch.Tensor, std: torch.Tensor, vae: AutoencoderKL) -> None:
        self.mean, self.std, self._vae = mean, std, vae

    @classmethod
    @torch.no_grad()
    def encode(cls, vae: AutoencoderKL, images: Sequence[Image.Image]) -> LatentCache:
        means, stds = [], []
        x = pixels(images)
        for chunk in x.split(ENCODE_BATCH):
            dist = vae.encode(chunk.to(vae.device, vae.dtype)).latent_dist
            means.append(dist.mean.float())
            stds.append(dist.std.float())
        return cls(torch.cat(means), torch.cat(stds), vae)

    @classmethod
    def fixed(cls, latents: torch.Tensor, vae: AutoencoderKL) -> LatentCache:
        """Latents already in the UNet's space (e.g. sampled by the base model), with no spread."""
        scale = vae.config.scaling_factor
        shift = getattr(vae.config, "shift_factor", None) or 0.0
        mean = latents.float() / scale + shift
        return cls(mean, torch.zeros_like(mean), vae)

    def __len__(self) -> int:
        return self.mean.shape[0]

    def sample(self, batch_size: int, generator: torch.Generator) -> torch.Tensor:
        index = torch.randint(len(self), (batch_size,), generator=generator)
        eps = torch.randn(self.mean[index].shape, generator=generator)
        latents = self.mean[index] + self.std[index] * eps.to(self.mean.device)
        return scale_latents(self._vae, latents)


def token_ids(tokenizer: CLIPTokenizer, text: str, device: torch.device) -> torch.Tensor:
    ids = tokenizer(
        text,
        padding="max_length",
        max_length=tokenizer.model_max_length,
        truncation=True,
        return_tensors="pt",
    ).input_ids
    return ids.to(device)


def encode_text(text_encoder: CLIPTextModel, ids: torch.Tensor) -> torch.Tensor:
    return text_encoder(ids, return_dict=False)[0]
