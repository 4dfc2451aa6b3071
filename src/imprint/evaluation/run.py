"""The fidelity tables and contact sheets for a base model (the `imprint eval` command).

Prints the tables as Markdown and writes the sheets as PNG files into the output folder. The
personalization is measured either on the broad draw (evaluation/broad.py: the default, resumable,
its records in out/records.jsonl) or on the classic four instances the recipe was tuned on.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

from imprint.engine import BaseModel, GenerateRequest, Generator
from imprint.evaluation.broad import broad_personalization
from imprint.evaluation.broad_tables import markdown
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
             seeds: int = 1, descriptions: bool = True, instances: str = "classic", count: int = 24,
             draw_seed: int = 0) -> dict:
    """`instances`: "broad" (`count` instances drawn by `draw_seed`, see evaluation/broad.py) or
    "classic" (fidelity.INSTANCES, trained in TRAIN_SCENES)."""
    if instances not in ("broad", "classic"):
        raise ValueError(f"instances must be broad or classic, not {instances!r}")
    out.mkdir(parents=True, exist_ok=True)
    judge = Judge.load(judge_dir)
    base = BaseModel.load(base_model)
    generator = Generator(base)
    report: dict = {"base_model": str(base_model), "sampling_steps": steps}
    report["seconds_per_image_batch4"] = round(speed(generator, steps), 3)
    saved = out / "prompt-fidelity.md"
    if instances == "broad" and saved.exists():  # a resumed broad run: the base model's table is done
        report["prompt_fidelity"] = saved.read_text()
    else:
        table, images = prompt_fidelity(generator, judge, prompts=prompts, steps=steps)
        report["prompt_fidelity"] = table.markdown()
        contact_sheet(images[:32]).save(out / "base-samples.png")
        contact_sheet([sample(60_000_000 + i, full_caption=True).image for i in range(32)]).save(
            out / "training-renders.png")
        if instances == "broad":
            saved.write_text(report["prompt_fidelity"])
    print(report["prompt_fidelity"], "\n", flush=True)
    captioner = SceneCaptioner(judge) if captions else None
    if not skip_personalization and instances == "broad":
        with tempfile.TemporaryDirectory() as work:
            records = broad_personalization(base, generator, judge, out, Path(work), count=count,
                                            draw_seed=draw_seed, per_scene=per_scene, steps=steps,
                                            train_steps=train_steps, seeds=seeds, captioner=captioner,
                                            describe=descriptions)
        tables = markdown(records)
        (out / "broad-tables.md").write_text(tables)
        print(tables, flush=True)
        report |= {"instances": "broad", "count": count, "draw_seed": draw_seed, "personalization": tables,
                   "records": str(out / "records.jsonl"), "captioned": captions,
                   "described": captions and descriptions, "training_seeds": seeds}
    elif not skip_personalization:
        # Adapters are by-products: keep them out of the folder of sheets.
        with tempfile.TemporaryDirectory() as work:
            table, sheets = personalization(base, generator, judge, Path(work), per_scene=per_scene,
                                            steps=steps, train_steps=train_steps, seeds=seeds,
                                            describe=descriptions,
                                            captioner=captioner)
        print(table.markdown(), flush=True)
        report["personalization"] = table.markdown()
        for i, subject in enumerate(INSTANCES):
            name = subject.describe()
            contact_sheet(sheets[name], columns=5).save(out / f"personalized-{i}.png")
            contact_sheet(sheets[f"baseline: {name}"], columns=5).save(out / f"baseline-{i}.png")
            if f"described baseline: {name}" in sheets:
                contact_sheet(sheets[f"described baseline: {name}"], columns=5).save(
                    out / f"described-baseline-{i}.png")
        report["instances"] = "classic"
        report["train_scenes"] = list(TRAIN_SCENES)
        report["captioned"] = captions
        report["described"] = captions and descriptions
        report["training_seeds"] = seeds
        report["instance_renders"] = [str(out / f"personalized-{i}.png") for i in range(len(INSTANCES))]
    (out / "report.json").write_text(json.dumps(report, indent=2))
    return report
