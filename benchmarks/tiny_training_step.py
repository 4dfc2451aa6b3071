"""imprint-tiny base training: s/step with the trainer's fused AdamW vs PyTorch's default, interleaved.

Run: .venv/bin/python benchmarks/tiny_training_step.py [--blocks 6] [--steps 5] [--batch 32]

One `imprint.tiny.train_diffusion.Trainer` (text encoder + UNet from scratch, the bundled VAE's latents
of 1,024 renders, batch 32 as in the recipe) runs training steps with two optimisers that compute the
same update:
- stock: AdamW as PyTorch builds it by default on CPU (a loop over the 376 parameter tensors);
- ours (what the trainer builds): AdamW(fused=True), one kernel over all of them.
Blocks of `--steps` steps alternate between them, so load from elsewhere on the machine falls on
both alike; each block pair gives a ratio, and the median ratio is printed with wall and CPU time.
No timed asserts: this prints figures and ratios.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import torch

from imprint.models import bundled_model
from imprint.tiny.architecture import TinyShape
from imprint.tiny.train_diffusion import Trainer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--blocks", type=int, default=6)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        shutil.copytree(bundled_model() / "vae", work / "vae")
        trainer = Trainer(work, TinyShape(), 1024, args.batch, 3e-4)
        ours_opt = trainer.opt
        stock_opt = torch.optim.AdamW(ours_opt.param_groups[0]["params"], lr=3e-4, weight_decay=1e-2)

        def block(stock: bool) -> tuple[float, float]:
            trainer.opt = stock_opt if stock else ours_opt
            wall, cpu = time.perf_counter(), time.process_time()
            for _ in range(args.steps):
                trainer.train_step(100_000)
            return ((time.perf_counter() - wall) / args.steps, (time.process_time() - cpu) / args.steps)

        block(True), block(False)  # first-call allocations
        rows = []
        for i in range(args.blocks):
            order = (True, False) if i % 2 == 0 else (False, True)
            timed = {stock: block(stock) for stock in order}
            rows.append((timed[True], timed[False]))
            print(f"block {i}: stock {timed[True][0]:.3f} s/step, ours {timed[False][0]:.3f} s/step, "
                  f"ratio {timed[False][0] / timed[True][0]:.3f}", flush=True)
    wall_ratio = statistics.median(o[0] / s[0] for s, o in rows)
    cpu_ratio = statistics.median(o[1] / s[1] for s, o in rows)
    print(f"stock: median {statistics.median(s[0] for s, _ in rows):.3f} s/step wall, "
          f"{statistics.median(s[1] for s, _ in rows):.3f} s CPU")
    print(f"ours:  median {statistics.median(o[0] for _, o in rows):.3f} s/step wall, "
          f"{statistics.median(o[1] for _, o in rows):.3f} s CPU")
    print(f"ratio ours/stock: {wall_ratio:.3f} wall, {cpu_ratio:.3f} CPU (median of block pairs)")


if __name__ == "__main__":
    main()
