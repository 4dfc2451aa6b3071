"""The two fidelity tables and contact sheets for a base model (the `imprint eval` command).

Prints the tables as Markdown and writes the sheets as PNG files into the output folder.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

from imprint.engine import BaseModel, GenerateRequest, Generator
from imprint.evaluation.captioner import SceneCaptioner
from imprint.evaluation.fidelity import (
    INSTANCES,
    TRAIN_SCENES,
    contact_sheet,
    personalization,
    prompt_fidelity,
)
from imprint.evaluation.judge import Judge
from imprint.world.render import sample


def speed(generator: Generator, steps: int) -> float:
    """Seconds per generated image in a batch of 4 (after one warm-up batch)."""
    generator.generate(GenerateRequest(prompt="a dog on the beach", num_images=4, steps=steps))
    started = time.monotonic()
    generator.generate(GenerateRequest(prompt="a cat in the snow", num_images=4, steps=steps, seed=1))
    return (time.monotonic() - started) / 4


def evaluate(base_model: Path, judge_dir: Path, out: Path, *, prompts: int, per_scene: int, steps: int,
             train_steps: int | None, skip_personalization: bool = False, captions: bool = True,
             seeds: int = 1, descriptions: bool = True) -> dict:
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
        # Adapters are by-products: keep them out of the folder of sheets.
        with tempfile.TemporaryDirectory() as work:
            table, sheets = personalization(base, generator, judge, Path(work), per_scene=per_scene,
                                            steps=steps, train_steps=train_steps, seeds=seeds,
                                            describe=descriptions,
                                            captioner=SceneCaptioner(judge) if captions else None)
        print(table.markdown(), flush=True)
        report["personalization"] = table.markdown()
        for i, subject in enumerate(INSTANCES):
            name = subject.describe()
            contact_sheet(sheets[name], columns=5).save(out / f"personalized-{i}.png")
            contact_sheet(sheets[f"baseline: {name}"], columns=5).save(out / f"baseline-{i}.png")
            if f"described baseline: {name}" in sheets:
                contact_sheet(sheets[f"described baseline: {name}"], columns=5).save(
                    out / f"described-baseline-{i}.png")
        report["train_scenes"] = list(TRAIN_SCENES)
        report["captioned"] = captions
        report["described"] = captions and descriptions
        report["training_seeds"] = seeds
        report["instance_renders"] = [str(out / f"personalized-{i}.png") for i in range(len(INSTANCES))]
    (out / "report.json").write_text(json.dumps(report, indent=2))
    return report
