"""Trains the judge on clean renders and reports its held-out accuracy per attribute.

Renders are drawn fresh for every batch (seeds 40M+); the held-out set uses seeds 50M+, which no
training stage ever draws. Half of each batch is degraded the way generated images are (see
`degrade`), which makes it read the base model's softer images without changing what counts as
correct; it is reported on clean held-out renders (the bar for trusting it) and on degraded ones.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

import torch
import torch.nn.functional as F
from PIL import ImageFilter

from imprint.evaluation.degrade import Degrader
from imprint.evaluation.judge import HEADS, Judge, JudgeNet, labels_of, to_tensor
from imprint.models import bundled_model
from imprint.world.render import sample

TRAIN_SEEDS, HELDOUT_SEEDS = 40_000_000, 50_000_000


def _batch(first: int, size: int, augment: bool, degrader: Degrader | None = None):
    rng = random.Random(first)
    samples = [sample(first + i) for i in range(size)]
    images = []
    for s in samples:
        im = s.image
        if augment and rng.random() < 0.5:
            im = im.filter(ImageFilter.GaussianBlur(radius=rng.uniform(0.3, 1.0)))
        images.append(im)
    x = to_tensor(images)
    if augment:
        x = x + 0.05 * torch.randn_like(x) * torch.rand(x.shape[0], 1, 1, 1)
    if augment and degrader is not None:
        half = size // 2
        x[:half] = degrader(x[:half], rng, strength=rng.uniform(0.3, 1.0))
    labels = [labels_of(s.subject.as_dict(), s.scene) for s in samples]
    y = {name: torch.tensor([values.index(lab[name]) for lab in labels]) for name, values in HEADS.items()}
    return x, y, samples


def heldout_accuracy(judge: Judge, count: int = 2000,
                     degrader: Degrader | None = None) -> dict[str, float]:
    """Per-attribute accuracy on held-out renders, clean or (given a degrader) at strength 0.6."""
    samples = [sample(HELDOUT_SEEDS + i) for i in range(count)]
    truth = [labels_of(s.subject.as_dict(), s.scene) for s in samples]
    if degrader is None:
        predicted = judge.predict([s.image for s in samples])
    else:
        rng = random.Random(HELDOUT_SEEDS)
        predicted = []
        with torch.no_grad():
            for start in range(0, count, 128):
                x = degrader(to_tensor([s.image for s in samples[start:start + 128]]), rng, strength=0.6)
                predicted += judge.predict_tensor(x)
    return {name: sum(p[name] == t[name] for p, t in zip(predicted, truth, strict=True)) / count
            for name in HEADS}


def train(out: Path, steps: int, batch: int = 64, lr: float = 2e-3) -> dict[str, dict[str, float]]:
    torch.manual_seed(0)
    degrader = Degrader(bundled_model() / "vae")
    net = JudgeNet()
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    for step in range(steps):
        net.train()
        x, y, _ = _batch(TRAIN_SEEDS + step * batch, batch, augment=True, degrader=degrader)
        logits = net(x)
        loss = sum(F.cross_entropy(logits[name], y[name]) for name in HEADS)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if (step + 1) % 100 == 0:
            print(f"judge step {step + 1} loss {loss.item():.4f}", flush=True)
    judge = Judge(net.eval())
    acc = {"heldout_accuracy_clean_renders": heldout_accuracy(judge),
           "heldout_accuracy_degraded_renders": heldout_accuracy(judge, degrader=degrader)}
    judge.save(out, {**acc, "steps": steps, "batch": batch})
    return acc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("src/imprint/models/judge"))
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(train(args.out, args.steps))


if __name__ == "__main__":
    main()
