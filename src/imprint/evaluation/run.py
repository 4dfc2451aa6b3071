"""`imprint eval`: the two fidelity tables and contact sheets for a base model.

Prints the tables as Markdown and writes the sheets as PNG files into --out.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch

from imprint.engine import BaseModel, GenerateRequest, Generator, TrainConfig
from imprint.evaluation.fidelity import (
    INSTANCES,
    TRAIN_SCENES,
    contact_sheet,
    personalization,
    prompt_fidelity,
)
from imprint.evaluation.judge import Judge
from imprint.models import bundled_judge, bundled_model
from imprint.world.render import sample


def speed(generator: Generator, steps: int) -> float:
    """Seconds per generated image in a batch of 4 (after one warm-up batch)."""
    generator.generate(GenerateRequest(prompt="a dog on the beach", num_images=4, steps=steps))
    started = time.monotonic()
    generator.generate(GenerateRequest(prompt="a cat in the snow", num_images=4, steps=steps, seed=1))
    return (time.monotonic() - started) / 4


def evaluate(base_model: Path, judge_dir: Path, out: Path, *, prompts: int, per_scene: int, steps: int,
             train_steps: int | None, skip_personalization: bool = False) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    judge = Judge.load(judge_dir)
    base = BaseModel.load(base_model)
    generator = Generator(base)
    report: dict = {"base_model": str(base_model), "sampling_steps": steps}
    report["seconds_per_image_batch4"] = round(speed(generator, steps), 3)
    table, images = prompt_fidelity(generator, judge, prompts=prompts, steps=steps)
    print(table.markdown(), "\n", flush=True)
    report["prompt_fidelity"] = table.markdown()
    contact_sheet(images[:32]).save(out / "base-samples.png")
    contact_sheet([sample(60_000_000 + i, full_caption=True).image for i in range(32)]).save(
        out / "training-renders.png")
    if not skip_personalization:
        config = TrainConfig(steps=train_steps) if train_steps else None
        # Adapters are by-products: keep them out of the folder of sheets.
        with tempfile.TemporaryDirectory() as work:
            table, sheets = personalization(base, generator, judge, Path(work), per_scene=per_scene,
                                            steps=steps, train=config)
        print(table.markdown(), flush=True)
        report["personalization"] = table.markdown()
        for i, subject in enumerate(INSTANCES):
            name = subject.describe()
            contact_sheet(sheets[name], columns=5).save(out / f"personalized-{i}.png")
            contact_sheet(sheets[f"baseline: {name}"], columns=5).save(out / f"baseline-{i}.png")
        report["train_scenes"] = list(TRAIN_SCENES)
        report["instance_renders"] = [str(out / f"personalized-{i}.png") for i in range(len(INSTANCES))]
    (out / "report.json").write_text(json.dumps(report, indent=2))
    return report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base-model", type=Path, default=None)
    parser.add_argument("--judge", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=Path("build/eval"))
    parser.add_argument("--prompts", type=int, default=84)
    parser.add_argument("--per-scene", type=int, default=3)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--train-steps", type=int, default=None)
    parser.add_argument("--skip-personalization", action="store_true")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    evaluate(args.base_model or bundled_model(), args.judge or bundled_judge(), args.out,
             prompts=args.prompts, per_scene=args.per_scene, steps=args.steps, train_steps=args.train_steps,
             skip_personalization=args.skip_personalization)


if __name__ == "__main__":
    main()
