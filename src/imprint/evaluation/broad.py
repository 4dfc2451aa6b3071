"""The broad personalization evaluation: many instances drawn at random, each trained on two scenes
of its own and prompted into the other four, judged image by image into `records.jsonl`.

The classic evaluation (fidelity.INSTANCES, trained in a room and a forest) is the set the recipe was
tuned on; a figure on it says how well the recipe fits those four. Here the instances are drawn by a
seed over every type, colour, pattern and accessory, disjoint from that set, so a recipe tuned to
this figure is tuned to the world. Every judged image is appended to the records as it is judged,
and a run restarted with the same settings skips the work its records already hold: a full run is
hours of training on two cores and will be interrupted. The tables are computed from the records
alone (broad_tables.py).
"""

from __future__ import annotations

import json
import os
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from PIL import Image

from imprint.engine import SPECIAL_TOKEN, BaseModel, GenerateRequest, Generator, train_adapter
from imprint.engine.train_config import recipe_for
from imprint.evaluation.broad_tables import load_records
from imprint.evaluation.captioner import SceneCaptioner
from imprint.evaluation.fidelity import INSTANCES, contact_sheet, matches_instance
from imprint.evaluation.judge import Judge
from imprint.world.render import render
from imprint.world.subject import Subject
from imprint.world.vocabulary import SCENE_PHRASES, SCENES, SUBJECT_TYPES

RECORDS = "records.jsonl"
SETTINGS = "broad-settings.json"
TRAINING_RENDERS = 5  # per instance, alternating its two training scenes, as in the classic evaluation
ARMS = ("adapter", "class-word", "described")


@dataclass(frozen=True)
class DrawnInstance:
    index: int
    subject: Subject
    train_scenes: tuple[str, str]

    @property
    def prompted_scenes(self) -> tuple[str, ...]:
        return tuple(s for s in SCENES if s not in self.train_scenes)

    def training_photos(self) -> list[Image.Image]:
        return [render(self.subject, self.train_scenes[i % 2], seed=900 + i) for i in range(TRAINING_RENDERS)]


def draw_instances(count: int = 24, seed: int = 0) -> list[DrawnInstance]:
    """`count` distinct instances, none of the classic four, with the types as even as `count` allows
    (at 24, every type 3 or 4 times) and colour, pattern, accessory and its colour drawn by
    Subject.sample; each with two distinct training scenes drawn from the six."""
    if count < 1:
        raise ValueError("draw at least one instance")
    rng = random.Random(seed)
    kinds = [SUBJECT_TYPES[i % len(SUBJECT_TYPES)] for i in range(count)]
    rng.shuffle(kinds)
    taken = set(INSTANCES)
    drawn: list[DrawnInstance] = []
    for index, kind in enumerate(kinds):
        subject = Subject.sample(rng, kind)
        while subject in taken:  # a collision with the tuning set or an earlier draw: draw again
            subject = Subject.sample(rng, kind)
        taken.add(subject)
        first, second = rng.sample(SCENES, 2)
        drawn.append(DrawnInstance(index, subject, (first, second)))
    return drawn


def unit_of(record: dict) -> tuple[int, str, int | None]:
    """What one piece of work produced a record: an adapter (instance, "adapter", run) or one
    baseline draw (instance, arm, None)."""
    return record["instance"], record["arm"], record["run"]


def _complete_records(path: Path, per_unit: int) -> tuple[list[dict], set[tuple]]:
    """The records of finished units; those of a unit an interruption cut short are removed from the
    file (rewritten atomically), so that unit is done again from its start."""
    records = load_records(path)
    counts = Counter(unit_of(r) for r in records)
    done = {unit for unit, n in counts.items() if n == per_unit}
    kept = [r for r in records if unit_of(r) in done]
    if len(kept) != len(records) or (path.exists() and not path.read_text().endswith("\n")):
        tmp = path.with_suffix(".tmp")
        tmp.write_text("".join(json.dumps(r) + "\n" for r in kept))
        os.replace(tmp, path)
    return kept, done


def _check_settings(out: Path, settings: dict) -> None:
    """A resumed run must measure the same thing (the number of training seeds may grow)."""
    path = out / SETTINGS
    if path.exists():
        before = json.loads(path.read_text())
        same = {k: v for k, v in before.items() if k != "seeds"} == {
            k: v for k, v in settings.items() if k != "seeds"}
        if not same:
            raise ValueError(f"{out} holds a broad evaluation with other settings ({before}); "
                             "use another --out folder")
    path.write_text(json.dumps(settings, indent=2))


def broad_personalization(base: BaseModel, generator: Generator, judge: Judge, out: Path, work: Path, *,
                          count: int = 24, draw_seed: int = 0, per_scene: int = 3, steps: int = 20,
                          train_steps: int | None = None, seeds: int = 2,
                          captioner: SceneCaptioner | None = None, describe: bool = True,
                          log: Callable[[str], None] = print) -> list[dict]:
    """Runs (or resumes) the broad evaluation into out/records.jsonl and returns all its records.

    The service's path, as in fidelity.personalization: the captioner's contexts and description,
    `recipe_for`, `train_adapter`, then `a <special-token> <scene phrase>`. Training seed n + 10 * run
    for instance n; every adapter of an instance draws the same image seeds, and so do its
    baselines: the class word alone, and (with captions and descriptions) the description alone."""
    out.mkdir(parents=True, exist_ok=True)
    described = captioner is not None and describe
    _check_settings(out, {"count": count, "draw_seed": draw_seed, "per_scene": per_scene, "steps": steps,
                          "train_steps": train_steps, "seeds": seeds, "captions": captioner is not None,
                          "descriptions": described})
    path = out / RECORDS
    per_unit = (len(SCENES) - 2) * per_scene
    records, done = _complete_records(path, per_unit)
    if done:
        log(f"resuming: {len(done)} finished adapters and baseline draws in {path}")
    sheets = out / "sheets"
    sheets.mkdir(exist_ok=True)
    for instance in draw_instances(count, draw_seed):
        n, subject = instance.index, instance.subject
        photos = instance.training_photos()
        captions = captioner.caption(photos, subject.kind) if captioner is not None else None
        contexts = captions.contexts if captions is not None else None
        description = captions.description if captions is not None and describe else None

        judged = partial(_judged, generator, judge, instance, path, records, per_scene=per_scene, steps=steps,
                         description=description)

        if (n, "class-word", None) not in done:
            images = judged(arm="class-word", run=None, prompt=f"a {subject.kind}")
            contact_sheet(images, columns=per_scene * 2).save(sheets / f"instance-{n:02d}-class-word.png")
        if described and (n, "described", None) not in done:
            images = judged(arm="described", run=None, prompt=f"a {description or subject.kind}")
            contact_sheet(images, columns=per_scene * 2).save(sheets / f"instance-{n:02d}-described.png")
        for run in range(seeds):
            if (n, "adapter", run) in done:
                continue
            started = time.monotonic()
            config = recipe_for(base, contexts)
            config.seed = n + 10 * run
            if train_steps:
                config.steps = train_steps
            adapter = work / f"instance-{n}-{run}.safetensors"
            info = train_adapter(base, photos, subject.kind, adapter, config, contexts=contexts,
                                 description=description)
            seconds = round(time.monotonic() - started, 1)
            images = judged(arm="adapter", run=run, prompt=f"a {SPECIAL_TOKEN}", adapter=info.path,
                            extra={"train_seed": config.seed, "train_seconds": seconds})
            info.path.unlink(missing_ok=True)
            contact_sheet(photos + images, columns=per_scene * 2).save(
                sheets / f"instance-{n:02d}-adapter-{run}.png")
            hits = sum(r["subject_hit"] for r in records if unit_of(r) == (n, "adapter", run))
            log(f"{n}: {subject.describe()} trained on {', '.join(instance.train_scenes)} "
                f"(seed {config.seed}, {seconds:.0f} s): all five in {hits} of {per_unit}")
    return records



def _judged(generator: Generator, judge: Judge, instance: DrawnInstance, path: Path, records: list[dict], *,
            arm: str, run: int | None, prompt: str, per_scene: int, steps: int, description: str | None,
            adapter: Path | None = None, extra: dict | None = None) -> list[Image.Image]:
    """Draws `per_scene` images of `prompt` in each prompted scene of the instance and appends a
    record per judged image to `path` (flushed scene by scene) and to `records`."""
    subject = instance.subject
    images: list[Image.Image] = []
    with path.open("a") as sink:
        for scene in instance.prompted_scenes:
            drawn = generator.generate(GenerateRequest(
                prompt=f"{prompt} {SCENE_PHRASES[scene]}", adapter=adapter, num_images=per_scene,
                seed=SCENES.index(scene), steps=steps))
            for j, seen in enumerate(judge.predict(drawn)):
                record = {"instance": instance.index, "subject": subject.as_dict(),
                          "train_scenes": list(instance.train_scenes), "description": description,
                          "arm": arm, "run": run, "scene": scene, "image": j, **(extra or {}), "seen": seen,
                          "subject_hit": matches_instance(seen, subject), "scene_hit": seen["scene"] == scene}
                sink.write(json.dumps(record) + "\n")
                records.append(record)
            sink.flush()
            images += drawn
    return images
