"""Degrades clean renders the way a small diffusion model's output is degraded, to train the judge on.

A judge that has only seen crisp renders misreads the softer, blotchier images the base model
draws (session-1 sheets: scenes a person reads at a glance scored 54%). Two degradations cover what
generated images show: the VAE round trip (the decoder's own softness and colour shifts) with
Gaussian noise on the latents (the denoiser's residual error, which the decoder turns into blotches
and smeared edges), then pixel blur, colour jitter and noise. Labels never change: an attribute that
a degradation truly erases is still counted as the truth, so a lenient judge gains nothing.
"""

from __future__ import annotations

import random
from pathlib import Path

import torch
from diffusers import AutoencoderKL


class Degrader:
    def __init__(self, vae_folder: Path) -> None:
        self.vae = AutoencoderKL.from_pretrained(vae_folder).eval().requires_grad_(False)

    @torch.no_grad()
    def __call__(self, x: torch.Tensor, rng: random.Random, strength: float = 1.0) -> torch.Tensor:
        """`x`: images in [-1, 1], NCHW. `strength` 0 gives the VAE round trip alone."""
        gen = torch.Generator().manual_seed(rng.randrange(2**31))
        z = self.vae.encode(x).latent_dist.mean
        sigma = strength * torch.rand(x.shape[0], 1, 1, 1, generator=gen) * 0.6 * z.std()
        y = self.vae.decode(z + sigma * torch.randn(z.shape, generator=gen)).sample
        y = blur(y, strength * rng.uniform(0.0, 1.2))
        # Per-image colour shift and contrast: generated scenes drift in hue and saturation.
        n = x.shape[0]
        shift = strength * 0.12 * (torch.rand(n, 3, 1, 1, generator=gen) * 2 - 1)
        contrast = 1 + strength * 0.25 * (torch.rand(n, 1, 1, 1, generator=gen) * 2 - 1)
        mean = y.mean(dim=(1, 2, 3), keepdim=True)
        y = (y - mean) * contrast + mean + shift
        y = y + strength * 0.05 * torch.rand(n, 1, 1, 1, generator=gen) * torch.randn(y.shape, generator=gen)
        return y.clamp(-1, 1)


def blur(x: torch.Tensor, radius: float) -> torch.Tensor:
    """Separable Gaussian blur of NCHW images (radius = sigma in pixels); 0 leaves them alone."""
    if radius < 0.05:
        return x
    half = max(1, int(3 * radius + 0.5))
    t = torch.arange(-half, half + 1, dtype=x.dtype)
    k = torch.exp(-(t**2) / (2 * radius**2))
    k = k / k.sum()
    c = x.shape[1]
    x = torch.nn.functional.pad(x, (half, half, half, half), mode="replicate")
    x = torch.nn.functional.conv2d(x, k.view(1, 1, 1, -1).repeat(c, 1, 1, 1), groups=c)
    return torch.nn.functional.conv2d(x, k.view(1, 1, -1, 1).repeat(c, 1, 1, 1), groups=c)
