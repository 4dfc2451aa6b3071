"""Stage 2 of imprint-tiny: text encoder and UNet, trained together from scratch on VAE latents.

The renders are encoded once and cached (the VAE is frozen by now), so a step costs only the text
encoder and UNet. Captions are re-drawn every time a sample is used, with parts left out at
random (see `training_caption`), which teaches partial prompts and the empty prompt that
classifier-free guidance needs. Min-SNR loss weighting and an EMA of the weights make the most of
the few thousand steps two CPU cores allow.
"""

from __future__ import annotations

import argparse
import copy
import math
import random
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from diffusers import AutoencoderKL, StableDiffusionPipeline, UNet2DConditionModel
from transformers import CLIPTextModel, CLIPTokenizer

from imprint.tiny.architecture import (
    GUIDANCE_SCALE,
    TinyShape,
    build_noise_scheduler,
    build_text_encoder,
    build_unet,
)
from imprint.tiny.checkpoint import Budget, RunLog, load_if_present, save_atomic
from imprint.tiny.pipeline_folder import save_pipeline
from imprint.tiny.tokenizer import save_tokenizer
from imprint.world.render import sample, to_array
from imprint.world.subject import Subject, training_caption

DATASET_SEED_BASE = 30_000_000


def encode_dataset(vae: AutoencoderKL, count: int, path: Path, log: RunLog) -> dict:
    """Latents (already multiplied by the scaling factor) of `count` renders, cached on disk."""
    cached = load_if_present(path)
    if cached and cached["latents"].shape[0] >= count:
        return cached
    latents, subjects, scenes = [], [], []
    with torch.no_grad():
        for start in range(0, count, 256):
            batch = [sample(DATASET_SEED_BASE + i) for i in range(start, min(count, start + 256))]
            x = torch.from_numpy(to_array([s.image for s in batch])).permute(0, 3, 1, 2).float() / 127.5 - 1
            z = vae.encode(x).latent_dist.mean * vae.config.scaling_factor
            latents.append(z.half())
            subjects += [s.subject.as_dict() for s in batch]
            scenes += [s.scene for s in batch]
            if start % 4096 == 0:
                log.write(stage="encode", done=start)
    data = {"latents": torch.cat(latents), "subjects": subjects, "scenes": scenes}
    save_atomic(data, path)
    return data


def learning_rate(step: int, total: int, peak: float, warmup: int = 200) -> float:
    if step < warmup:
        return peak * (step + 1) / warmup
    return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, step / total))))


class Trainer:
    def __init__(self, work: Path, shape: TinyShape, dataset_size: int, batch: int, lr: float,
                 init_from: Path | None = None) -> None:
        self.work, self.batch, self.lr = work, batch, lr
        self.log = RunLog(work / "diffusion.log.jsonl")
        save_tokenizer(work / "tokenizer")
        self.tokenizer = CLIPTokenizer.from_pretrained(work / "tokenizer")
        self.vae = AutoencoderKL.from_pretrained(work / "vae").eval().requires_grad_(False)
        self.data = encode_dataset(self.vae, dataset_size, work / f"latents-{dataset_size}.pt", self.log)
        self.subjects = [Subject(**s) for s in self.data["subjects"]]
        torch.manual_seed(0)
        self.text_encoder = build_text_encoder(shape, self.tokenizer)
        self.unet = build_unet(shape)
        if init_from is not None and not (work / "diffusion.ckpt").exists():
            # A warm start from exported (EMA) weights: the optimizer state is not kept in a
            # pipeline folder, so the run starts with a fresh AdamW and its own warm-up.
            text_encoder = CLIPTextModel.from_pretrained(init_from / "text_encoder")
            self.text_encoder.load_state_dict(text_encoder.state_dict())
            self.unet.load_state_dict(UNet2DConditionModel.from_pretrained(init_from / "unet").state_dict())
        self.ema = [copy.deepcopy(self.text_encoder).requires_grad_(False),
                    copy.deepcopy(self.unet).requires_grad_(False)]
        # Fused AdamW: one kernel for the 376 tensors instead of PyTorch's per-tensor loop on CPU, the
        # same update. The profiler puts the loop at ~28 ms of a ~0.6 s batch-32 step and the kernel at
        # ~7; benchmarks/tiny_training_step.py measures 2-6% a step, within this machine's drift.
        params = list(self.text_encoder.parameters()) + list(self.unet.parameters())
        self.opt = torch.optim.AdamW(params, lr=lr, weight_decay=1e-2, fused=True)
        self.noise = build_noise_scheduler()
        alphas = self.noise.alphas_cumprod
        self.snr = alphas / (1 - alphas)
        self.step = 0
        self._token_cache: dict[str, list[int]] = {}
        if state := load_if_present(work / "diffusion.ckpt"):
            self.text_encoder.load_state_dict(state["text_encoder"])
            self.unet.load_state_dict(state["unet"])
            self.ema[0].load_state_dict(state["ema_text_encoder"])
            self.ema[1].load_state_dict(state["ema_unet"])
            self.opt.load_state_dict(state["optimizer"])
            self.step = state["step"]

    def tokens(self, texts: list[str]) -> torch.Tensor:
        for t in texts:
            if t not in self._token_cache:
                self._token_cache[t] = self.tokenizer(
                    t, padding="max_length", max_length=self.tokenizer.model_max_length, truncation=True
                ).input_ids
        return torch.tensor([self._token_cache[t] for t in texts])

    def train_step(self, total: int) -> float:
        rng = random.Random(self.step)
        idx = [rng.randrange(len(self.subjects)) for _ in range(self.batch)]
        texts = [training_caption(self.subjects[i], self.data["scenes"][i], rng) for i in idx]
        latents = self.data["latents"][idx].float()
        gen = torch.Generator().manual_seed(self.step)
        noise = torch.randn(latents.shape, generator=gen)
        t = torch.randint(0, self.noise.config.num_train_timesteps, (self.batch,), generator=gen)
        noisy = self.noise.add_noise(latents, noise, t)
        hidden = self.text_encoder(self.tokens(texts)).last_hidden_state
        pred = self.unet(noisy, t, encoder_hidden_states=hidden).sample
        # Min-SNR-5 weighting (Hang et al. 2023): stops easy low-noise steps dominating the loss.
        weight = torch.clamp(self.snr[t], max=5.0) / self.snr[t]
        loss = (weight * F.mse_loss(pred, noise, reduction="none").mean(dim=(1, 2, 3))).mean()
        for group in self.opt.param_groups:
            group["lr"] = learning_rate(self.step, total, self.lr)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(
            list(self.text_encoder.parameters()) + list(self.unet.parameters()), 1.0
        )
        self.opt.step()
        self.update_ema()
        self.step += 1
        return loss.item()

    @torch.no_grad()
    def update_ema(self) -> None:
        decay = min(0.999, (1 + self.step) / (10 + self.step))
        for ema, live in zip(self.ema, (self.text_encoder, self.unet), strict=True):
            for e, p in zip(ema.parameters(), live.parameters(), strict=True):
                e.lerp_(p.detach(), 1 - decay)

    def save(self) -> None:
        save_atomic({
            "text_encoder": self.text_encoder.state_dict(), "unet": self.unet.state_dict(),
            "ema_text_encoder": self.ema[0].state_dict(), "ema_unet": self.ema[1].state_dict(),
            "optimizer": self.opt.state_dict(), "step": self.step,
        }, self.work / "diffusion.ckpt")

    def export(self, folder: Path) -> Path:
        """The EMA weights as a diffusers pipeline folder."""
        return save_pipeline(folder, vae=self.vae, text_encoder=self.ema[0], tokenizer=self.tokenizer,
                             unet=self.ema[1])

    def run(self, total: int, budget: Budget) -> None:
        losses: list[float] = []
        while self.step < total and not budget.spent():
            losses.append(self.train_step(total))
            if self.step % 50 == 0:
                self.log.write(stage="diffusion", step=self.step, loss=round(float(np.mean(losses)), 5),
                               lr=round(learning_rate(self.step, total, self.lr), 7))
                losses.clear()
            if self.step % 250 == 0:
                self.save()
            if self.step % 1000 == 0:
                self.export(self.work / "export")
                sample_sheet(self.work / "export", self.work / f"samples-{self.step:06d}.png")
        self.save()


SHEET_PROMPTS = [
    "a brown dog on the beach", "a black cat in the snow", "a red panda in the forest",
    "a golden girl with a red hat in the city", "a white man with glasses at night",
    "a gray striped dog with a blue scarf in a room", "a black woman on the beach", "a boy in the snow",
]


def sample_sheet(pipeline_folder: Path, out: Path, prompts: list[str] = SHEET_PROMPTS) -> None:
    pipe = StableDiffusionPipeline.from_pretrained(pipeline_folder)
    pipe.set_progress_bar_config(disable=True)
    images = pipe(prompts, num_inference_steps=20, guidance_scale=GUIDANCE_SCALE,
                  generator=torch.Generator().manual_seed(0)).images
    from PIL import Image

    sheet = Image.new("RGB", (64 * len(images), 64))
    for i, im in enumerate(images):
        sheet.paste(im, (64 * i, 0))
    sheet.resize((128 * len(images), 128), Image.Resampling.NEAREST).save(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--work", type=Path, default=Path("build/imprint-tiny"))
    parser.add_argument("--steps", type=int, default=8000)
    parser.add_argument("--minutes", type=float, default=90)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--dataset", type=int, default=32768)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--export", type=Path, default=None,
                        help="write the EMA pipeline folder here at the end")
    parser.add_argument("--init-from", type=Path, default=None,
                        help="start from this pipeline folder's text encoder and UNet (no checkpoint yet)")
    parser.add_argument("--export-only", action="store_true",
                        help="export the last checkpoint's EMA weights without training")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    trainer = Trainer(args.work, TinyShape(), args.dataset, args.batch, args.lr, args.init_from)
    if not args.export_only:
        trainer.run(args.steps, Budget(args.minutes))
    if args.export:
        trainer.export(args.export)
        trainer.log.write(stage="export", step=trainer.step, folder=str(args.export))


if __name__ == "__main__":
    main()
