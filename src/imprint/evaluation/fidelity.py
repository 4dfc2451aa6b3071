"""DreamBooth-style measurements of a base model and of personalization, scored by the judge.

Prompt fidelity: does the base model draw the type, scene, colour and accessory a prompt names?
Personalization: train an adapter on 5 renders of one subject instance, render it in scenes it was
never shown, and count images where the judge finds every attribute of the instance (subject
fidelity) and the prompted scene (prompt fidelity); the baseline is the base model prompted with
the class word alone, whose subject fidelity should sit near chance. When the captioner describes
the subject too, a second baseline prompts the base model with that description and no adapter:
what the words alone draw, so the table shows what the adapter adds to them.
"""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from imprint.engine import SPECIAL_TOKEN, BaseModel, GenerateRequest, Generator, train_adapter
from imprint.engine.train_config import recipe_for
from imprint.evaluation.captioner import SceneCaptioner
from imprint.evaluation.judge import Judge
from imprint.world.render import render
from imprint.world.subject import Subject
from imprint.world.vocabulary import SCENE_PHRASES, SCENES, SUBJECT_TYPES

INSTANCES: tuple[Subject, ...] = (
    Subject("dog", "golden", "spotted", "scarf", "red"),
    Subject("cat", "black", "striped", "hat", "yellow"),
    Subject("girl", "red", "plain", "glasses"),
    Subject("panda", "brown", "spotted", "hat", "blue"),
)
TRAIN_SCENES = ("room", "forest")


def prompt_set(rng: random.Random, count: int) -> list[Subject | tuple[Subject, str]]:
    """Fixed prompts: every type in every scene, with random colour and accessory."""
    pairs = list(itertools.product(SUBJECT_TYPES, SCENES))
    rng.shuffle(pairs)
    out: list = []
    for kind, scene in itertools.islice(itertools.cycle(pairs), count):
        out.append((Subject.sample(rng, kind), scene))
    return out


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)

    def markdown(self) -> str:
        lines = [f"| {' | '.join(self.columns)} |", "|" + "---|" * len(self.columns)]
        lines += [f"| {' | '.join(r)} |" for r in self.rows]
        return f"**{self.title}**\n\n" + "\n".join(lines)


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def prompt_fidelity(generator: Generator, judge: Judge, *, prompts: int = 84, seed: int = 0,
                    steps: int = 20) -> tuple[Table, list[Image.Image]]:
    rng = random.Random(seed)
    hits = {"kind": 0, "scene": 0, "colour": 0, "accessory": 0}
    images: list[Image.Image] = []
    for i, (subject, scene) in enumerate(prompt_set(rng, prompts)):
        prompt = f"{subject.describe(pattern=False)} {SCENE_PHRASES[scene]}"
        image = generator.generate(GenerateRequest(prompt=prompt, seed=seed + i, steps=steps))[0]
        images.append(image)
        seen = judge.predict([image])[0]
        hits["kind"] += seen["kind"] == subject.kind
        hits["scene"] += seen["scene"] == scene
        hits["colour"] += seen["colour"] == subject.colour
        hits["accessory"] += seen["accessory"] == subject.accessory
    table = Table(f"Prompt fidelity of the base model ({prompts} prompts, 1 image each, {steps} steps)",
                  ["subject type", "scene", "colour", "accessory"])
    table.rows.append([_pct(hits[k] / prompts) for k in ("kind", "scene", "colour", "accessory")])
    return table, images


def matches_instance(seen: dict[str, str], subject: Subject) -> bool:
    """Subject fidelity of one image: the judge finds every attribute of the instance."""
    return (seen["kind"] == subject.kind and seen["colour"] == subject.colour
            and seen["pattern"] == subject.pattern and seen["accessory"] == subject.accessory
            and seen["accessory_colour"] == (subject.accessory_colour or "none"))


def personalization(base: BaseModel, generator: Generator, judge: Judge, work: Path, *,
                    instances: tuple[Subject, ...] = INSTANCES, per_scene: int = 2, steps: int = 20,
                    train_steps: int | None = None, captioner: SceneCaptioner | None = None,
                    seeds: int = 1, describe: bool = True,
                    log: Callable[[str], None] = print) -> tuple[Table, dict[str, list[Image.Image]]]:
    """Each instance is trained with the recipe the service uses (recipe_for), captioned by `captioner`
    as the service captions the bundled model's training pictures, or uncaptioned without one.

    With `seeds` > 1 each instance is trained that many times (training seeds n, n + 10, n + 20, ...)
    and every adapter draws the same images: a single training run's figure moves by a quarter of
    its value from one seed to the next, so the pooled figure is the one to compare recipes by.

    With `describe` (and a captioner) the captions name the subject as the captioner describes it,
    as the service's do."""
    described = captioner is not None and describe
    columns = ["instance", "train s", "subject fid.", "prompt fid.", "baseline subject fid.",
               "baseline prompt fid."]
    if described:
        columns[1:1] = ["description"]
        columns += ["described baseline subject fid.", "described baseline prompt fid."]
    table = Table("Personalization: subject and prompt fidelity in unseen scenes", columns)
    sheets: dict[str, list[Image.Image]] = {}
    sums: list[float] = []  # of each fraction column over the instances
    unseen = [s for s in SCENES if s not in TRAIN_SCENES]
    for n, subject in enumerate(instances):
        photos = [render(subject, TRAIN_SCENES[i % 2], seed=900 + i) for i in range(5)]
        counts = [0] * 6
        ours: list[Image.Image] = []
        base_images: list[Image.Image] = []
        words_images: list[Image.Image] = []
        seconds: list[float] = []
        captions = captioner.caption(photos, subject.kind) if captioner is not None else None  # same each run
        contexts = captions.contexts if captions is not None else None
        description = captions.description if captions is not None and describe else None
        for run in range(seeds):
            started = time.monotonic()
            config = recipe_for(base, contexts)
            config.seed = n + 10 * run
            if train_steps:
                config.steps = train_steps
            info = train_adapter(base, photos, subject.kind, work / f"instance-{n}-{run}.safetensors", config,
                                 contexts=contexts, description=description)
            seconds.append(time.monotonic() - started)
            for k, scene in enumerate(unseen):
                phrase = SCENE_PHRASES[scene]
                ours_k = generator.generate(GenerateRequest(
                    prompt=f"a {SPECIAL_TOKEN} {phrase}", adapter=info.path, num_images=per_scene, seed=k,
                    steps=steps))
                for seen in judge.predict(ours_k):
                    counts[0] += matches_instance(seen, subject)
                    counts[1] += seen["scene"] == scene
                ours += ours_k
                if run == 0:  # the baseline trains nothing: one draw of it
                    base_k = generator.generate(GenerateRequest(
                        prompt=f"a {subject.kind} {phrase}", num_images=per_scene, seed=k, steps=steps))
                    for seen in judge.predict(base_k):
                        counts[2] += matches_instance(seen, subject)
                        counts[3] += seen["scene"] == scene
                    base_images += base_k
                if run == 0 and described:
                    words_k = generator.generate(GenerateRequest(
                        prompt=f"a {description or subject.kind} {phrase}", num_images=per_scene, seed=k,
                        steps=steps))
                    for seen in judge.predict(words_k):
                        counts[4] += matches_instance(seen, subject)
                        counts[5] += seen["scene"] == scene
                    words_images += words_k
        total = len(unseen) * per_scene
        fractions = [counts[0] / (total * seeds), counts[1] / (total * seeds), counts[2] / total,
                     counts[3] / total, counts[4] / total, counts[5] / total]
        if not described:
            fractions = fractions[:4]
        spread = f"{min(seconds):.0f}-{max(seconds):.0f}" if seeds > 1 else f"{seconds[0]:.0f}"
        row = [subject.describe(), spread]
        if described:
            row.insert(1, description or "(none)")
        table.rows.append(row + [_pct(f) for f in fractions])
        sums = [a + b for a, b in zip(sums or [0.0] * len(fractions), fractions, strict=True)]
        sheets[subject.describe()] = photos + ours[:total]
        sheets[f"baseline: {subject.describe()}"] = base_images
        if described:
            sheets[f"described baseline: {subject.describe()}"] = words_images
        trained = ", ".join(f"{s:.0f}" for s in seconds)
        log(f"{subject.describe()}: {counts} of {total} x {seeds} seeds ({trained} s training)")
    labels = [""] * (len(columns) - 1 - len(sums))
    table.rows.append(["all"] + labels + [_pct(t / len(instances)) for t in sums])
    return table, sheets


def contact_sheet(images: list[Image.Image], columns: int = 8, scale: int = 2) -> Image.Image:
    rows = (len(images) + columns - 1) // columns
    sheet = Image.new("RGB", (64 * columns, 64 * rows), (255, 255, 255))
    for i, im in enumerate(images):
        sheet.paste(im.resize((64, 64)), ((i % columns) * 64, (i // columns) * 64))
    return sheet.resize((64 * columns * scale, 64 * rows * scale), Image.Resampling.NEAREST)
