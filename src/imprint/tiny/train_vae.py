"""Stage 1 of imprint-tiny: the autoencoder between 64x64 pixels and 16x16x4 latents.

Trained on fresh renders of the procedural world every step (drawing is far cheaper than a step),
with an L1 + L2 reconstruction loss and a tiny KL term that keeps the latents near a unit Gaussian
without blurring the flat colours the world is made of.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import torch

from imprint.tiny.architecture import TinyShape, build_vae
from imprint.tiny.checkpoint import Budget, RunLog, load_if_present, save_atomic
from imprint.world.render import render, sample, to_array


def batch_pixels(first_seed: int, size: int) -> torch.Tensor:
    images = [sample(seed).image for seed in range(first_seed, first_seed + size)]
    x = torch.from_numpy(to_array(images)).permute(0, 3, 1, 2).float()
    return x / 127.5 - 1.0


def batch_with_weights(first_seed: int, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Pixels plus a per-pixel loss weight that is 5x on the subject: the subject covers a tenth of
    the frame, so a plain loss spends the VAE's capacity on the background and blurs what matters."""
    samples = [sample(seed) for seed in range(first_seed, first_seed + size)]
    with_s = to_array([s.image for s in samples]).astype(np.int16)
    without = to_array([render(s.subject, s.scene, seed=seed, with_subject=False)
                        for seed, s in zip(range(first_seed, first_seed + size), samples, strict=True)])
    mask = (np.abs(with_s - without).sum(axis=3, keepdims=True) > 0).astype(np.float32)
    x = torch.from_numpy(with_s.astype(np.float32)).permute(0, 3, 1, 2) / 127.5 - 1.0
    weight = 1.0 + 4.0 * torch.from_numpy(mask).permute(0, 3, 1, 2)
    return x, weight


def learning_rate(step: int, total: int, peak: float) -> float:
    if step < 50:
        return peak * (step + 1) / 50
    return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, step / total))))


def warm_start(vae: torch.nn.Module, checkpoint: Path) -> int:
    """Copies every weight whose shape still matches from an earlier VAE (e.g. one with fewer latent
    channels), so a change of latent size does not throw away what the convolutions learned."""
    state = torch.load(checkpoint, map_location="cpu", weights_only=False)["model"]
    own = vae.state_dict()
    usable = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    vae.load_state_dict(usable, strict=False)
    return len(usable)


def train(work: Path, *, steps: int, minutes: float, batch: int = 16, lr: float = 1e-3,
          init_from: Path | None = None) -> Path:
    torch.manual_seed(0)
    vae = build_vae(TinyShape())
    opt = torch.optim.AdamW(vae.parameters(), lr=lr, weight_decay=0.0)
    ckpt_path = work / "vae.ckpt"
    log = RunLog(work / "vae.log.jsonl")
    step = 0
    if state := load_if_present(ckpt_path):
        vae.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        step = state["step"]
    elif init_from is not None:
        log.write(stage="vae", warm_start=str(init_from), tensors=warm_start(vae, init_from))
    budget = Budget(minutes)
    losses: list[float] = []
    while step < steps and not budget.spent():
        for group in opt.param_groups:
            group["lr"] = learning_rate(step, steps, lr)
        # Seeds 10M+ are reserved for this stage so that evaluation renders stay unseen.
        x, weight = batch_with_weights(10_000_000 + step * batch, batch)
        posterior = vae.encode(x).latent_dist
        recon = vae.decode(posterior.sample()).sample
        err = recon - x
        loss = (weight * (err.abs() + err.pow(2))).mean() + 1e-6 * posterior.kl().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.item())
        step += 1
        if step % 50 == 0 or step == steps:
            log.write(stage="vae", step=step, loss=round(float(np.mean(losses)), 5))
            losses.clear()
        if step % 200 == 0:
            save_atomic({"model": vae.state_dict(), "optimizer": opt.state_dict(), "step": step}, ckpt_path)
    save_atomic({"model": vae.state_dict(), "optimizer": opt.state_dict(), "step": step}, ckpt_path)
    with torch.no_grad():
        z = torch.cat([vae.encode(batch_pixels(20_000_000 + i * 64, 64)).latent_dist.mean for i in range(8)])
    vae.register_to_config(scaling_factor=float(1.0 / z.std()))
    vae.save_pretrained(work / "vae", safe_serialization=True)
    log.write(stage="vae", step=step, done=step >= steps, scaling_factor=vae.config.scaling_factor)
    return work / "vae"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--work", type=Path, default=Path("build/imprint-tiny"))
    parser.add_argument("--steps", type=int, default=1200)
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--init-from", type=Path, default=None, help="warm start from another VAE checkpoint")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    train(args.work, steps=args.steps, minutes=args.minutes, init_from=args.init_from)


if __name__ == "__main__":
    main()
