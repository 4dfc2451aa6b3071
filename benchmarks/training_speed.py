"""DreamBooth-LoRA training: s/step and peak memory of imprint's trainer vs the common recipe.

Run: .venv/bin/python benchmarks/training_speed.py [--base-model PATH] [--quick]

Both train the same thing (same base, photos, augmented views, rank, batch, steps, seed, LoRA targets,
identifier row, optimiser); they differ only in what is recomputed each step:
- common recipe (diffusers' train_dreambooth_lora.py without --pre_compute_text_embeddings): each
  step VAE-encodes the batch's images and runs the text encoder over the batch's captions;
- ours (engine/train.py): latent distributions encoded once before the loop and sampled each step;
  the shared caption encoded once per step as a single row, broadcast over the batch.
Ours also differs in how the UNet step itself runs (lean LoRA/attention forwards, each distinct
caption's keys and values projected once, fused AdamW; see engine/lean_layers.py); the computed
function, the trained parameters and the optimiser's update rule are the same.
Each run is a separate subprocess, so its peak RSS (ru_maxrss) is its own; runs alternate. s/step is
timed from the end of step 1 to the end of the last step (first-call allocations excluded), both as
wall time and as this process's CPU time: on a shared machine the CPU figure is the steadier one.
No timed asserts: this prints figures and ratios.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from diffusers import DDPMScheduler
from engine_common import (
    add_common_arguments,
    base_model_folder,
    median,
    peak_rss_mb,
    set_threads,
    subject_photos,
)

from imprint.engine import BaseModel, Progress, TrainConfig, train_adapter
from imprint.engine.identifier import IDENTIFIER_TOKEN, add_identifier
from imprint.engine.images import augmented_views, prepare_images
from imprint.engine.train import _add_lora
from imprint.engine.train_data import encode_text, pixels, scale_latents, token_ids

OBJECT_TYPE = "dog"


def stamp() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def common_recipe(base: BaseModel, config: TrainConfig, stamps: list[tuple[float, float]]) -> None:
    """The per-step-encoding loop, otherwise step for step what engine/train.py does."""
    photos = prepare_images(subject_photos(), base.image_size)
    views = [v for p in photos for v in augmented_views(p, base.image_size, augment=config.augment)]
    generator = torch.Generator().manual_seed(config.seed)
    pipe = base.working_pipeline()
    unet, text_encoder, tokenizer, vae = pipe.unet, pipe.text_encoder, pipe.tokenizer, pipe.vae
    identifier = add_identifier(tokenizer, text_encoder, OBJECT_TYPE)
    lora = _add_lora(unet, list(config.unet_targets), config, generator)
    optimizer = torch.optim.AdamW(
        [
            {"params": lora, "lr": config.learning_rate, "weight_decay": config.weight_decay},
            {"params": [identifier.row], "lr": config.token_learning_rate, "weight_decay": 0.0},
        ]
    )
    noise_scheduler = DDPMScheduler.from_config(base.pipeline.scheduler.config)
    caption = f"a photo of {IDENTIFIER_TOKEN} {OBJECT_TYPE}"
    unet.train()
    for _ in range(config.steps or 1):
        index = torch.randint(len(views), (config.batch_size,), generator=generator)
        with torch.no_grad():
            dist = vae.encode(pixels([views[i] for i in index])).latent_dist
            latents = scale_latents(
                vae, dist.mean + dist.std * torch.randn(dist.mean.shape, generator=generator)
            )
        ids = torch.cat([token_ids(tokenizer, caption, base.device) for _ in range(config.batch_size)])
        text = encode_text(text_encoder, ids)
        noise = torch.randn(latents.shape, generator=generator)
        timesteps = torch.randint(
            0, noise_scheduler.config.num_train_timesteps, (latents.shape[0],), generator=generator
        )
        pred = unet(noise_scheduler.add_noise(latents, noise, timesteps), timesteps, text, return_dict=False)[
            0
        ]
        loss = F.mse_loss(pred.float(), noise.float())
        loss.backward()
        torch.nn.utils.clip_grad_norm_(lora + [identifier.row], config.max_grad_norm)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        stamps.append(stamp())


def worker(args: argparse.Namespace) -> None:
    set_threads(args.threads)
    base = BaseModel.load(args.base_model)
    config = TrainConfig(steps=args.steps, batch_size=args.batch_size, rank=args.rank)
    stamps: list[tuple[float, float]] = []
    start = time.perf_counter()
    if args.worker == "ours":

        def on_progress(p: Progress) -> None:
            if p.stage == "training" and p.done > 0:
                stamps.append(stamp())

        out = Path(args.out)
        train_adapter(base, subject_photos(), OBJECT_TYPE, out, config, progress=on_progress)
    else:
        common_recipe(base, config, stamps)
    total = time.perf_counter() - start
    steps = len(stamps) - 1
    s_per_step = (stamps[-1][0] - stamps[0][0]) / steps
    cpu_s_per_step = (stamps[-1][1] - stamps[0][1]) / steps
    print(
        json.dumps(
            {
                "s_per_step": s_per_step,
                "cpu_s_per_step": cpu_s_per_step,
                "total_s": total,
                "peak_rss_mb": peak_rss_mb(),
            }
        )
    )


def run_worker(mode: str, args: argparse.Namespace, folder: Path, out: Path) -> dict[str, float]:
    command = [
        sys.executable,
        __file__,
        "--worker",
        mode,
        "--base-model",
        str(folder),
        "--steps",
        str(args.steps),
        "--batch-size",
        str(args.batch_size),
        "--rank",
        str(args.rank),
        "--threads",
        str(args.threads),
        "--out",
        str(out),
    ]
    result = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_common_arguments(parser)
    parser.add_argument("--steps", type=int, default=None, help="default 40 (--quick: 12)")
    parser.add_argument(
        "--rounds", type=int, default=None, help="alternating runs of each; default 3 (--quick: 1)"
    )
    parser.add_argument("--batch-size", type=int, default=TrainConfig.batch_size)
    parser.add_argument("--rank", type=int, default=TrainConfig.rank)
    parser.add_argument("--worker", choices=["ours", "baseline"], help=argparse.SUPPRESS)
    parser.add_argument("--out", default="bench-adapter.safetensors", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.steps = args.steps or (12 if args.quick else 40)
    if args.worker:
        worker(args)
        return
    folder = base_model_folder(args.base_model)
    runs: dict[str, list[dict[str, float]]] = {"ours": [], "baseline": []}
    # The adapters are by-products: never written beside the base model (it may be the package's).
    with tempfile.TemporaryDirectory(prefix="imprint-bench-") as tmp:
        out = Path(tmp) / "bench-adapter.safetensors"
        for _ in range(args.rounds or (1 if args.quick else 3)):
            for mode in runs:
                runs[mode].append(run_worker(mode, args, folder, out))
    print(
        f"base model {folder.name}, batch {args.batch_size}, rank {args.rank}, {args.steps} steps, "
        f"{args.threads} thread(s), {len(runs['ours'])} run(s) each (medians)"
    )
    summary = {}
    for mode, results in runs.items():
        summary[mode] = {key: median([r[key] for r in results]) for key in results[0]}
        s = summary[mode]
        label = "ours" if mode == "ours" else "common recipe"
        print(
            f"  {label:<14} {s['s_per_step'] * 1000:8.1f} ms/step "
            f"({s['cpu_s_per_step'] * 1000:6.1f} ms CPU)   "
            f"{s['total_s']:6.1f} s total   peak RSS {s['peak_rss_mb']:7.1f} MiB"
        )
    ours, base_line = summary["ours"], summary["baseline"]
    print(
        f"  speed-up per step: {base_line['s_per_step'] / ours['s_per_step']:.2f}x "
        f"(CPU time: {base_line['cpu_s_per_step'] / ours['cpu_s_per_step']:.2f}x), "
        f"whole run: {base_line['total_s'] / ours['total_s']:.2f}x, "
        f"peak RSS ours/common: {ours['peak_rss_mb'] / base_line['peak_rss_mb']:.2f}"
    )


if __name__ == "__main__":
    main()
