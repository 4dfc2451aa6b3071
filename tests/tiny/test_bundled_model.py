"""The bundled imprint-tiny model: loads offline with stock diffusers, fits its size budget, and a
personalization trained through the engine carries the subject into scenes it never saw."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from diffusers import StableDiffusionPipeline

from imprint.engine import SPECIAL_TOKEN, BaseModel, GenerateRequest, Generator, train_adapter
from imprint.engine.train_config import recipe_for
from imprint.evaluation.broad import draw_instances
from imprint.evaluation.captioner import SceneCaptioner
from imprint.evaluation.fidelity import INSTANCES
from imprint.evaluation.judge import Judge
from imprint.models import bundled_judge, bundled_model
from imprint.world.subject import Subject
from imprint.world.vocabulary import SCENE_PHRASES, SCENES

torch.set_num_threads(2)
pytestmark = pytest.mark.slow


def test_bundled_model_loads_offline_with_stock_diffusers_and_fits_40_mb() -> None:
    folder = bundled_model()
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert sum(p.stat().st_size for p in files) <= 40 * 1024 * 1024
    assert not [p for p in files if p.suffix in (".bin", ".pt", ".ckpt")], "weights ship as safetensors only"
    pipe = StableDiffusionPipeline.from_pretrained(folder, local_files_only=True)
    pipe.set_progress_bar_config(disable=True)
    image = pipe("a brown dog on the beach", num_inference_steps=5,
                 generator=torch.Generator().manual_seed(0)).images[0]
    assert image.size == (64, 64)


def test_the_judge_is_trusted_only_above_95_percent_on_clean_renders() -> None:
    metrics = json.loads((bundled_judge() / "judge.json").read_text())
    accuracy = metrics["heldout_accuracy_clean_renders"]
    assert set(accuracy) == {"kind", "colour", "pattern", "accessory", "accessory_colour", "scene"}
    assert min(accuracy.values()) >= 0.95, accuracy


def _attribute_hits(seen: list[dict[str, str]], subject: Subject) -> int:
    """Hits on the attributes the class word does not name (the type comes free to both sides)."""
    wanted = {"colour": subject.colour, "pattern": subject.pattern,
              "accessory": subject.accessory, "accessory_colour": subject.accessory_colour or "none"}
    return sum(s[k] == v for s in seen for k, v in wanted.items())


def _all_five(seen: list[dict[str, str]], subject: Subject) -> int:
    return sum(_attribute_hits([s], subject) == 4 and s["kind"] == subject.kind for s in seen)


# An instance of the broad evaluation (evaluation/broad.py: drawn by seed 0, never among the four the
# recipe was tuned on), trained with that evaluation's first training seed for it, so the images here
# are the ones its records judged (docs/imprint-tiny.md lists its row).
INSTANCE = 6


def test_personalization_carries_the_subject_into_unseen_scenes(tmp_path: Path) -> None:
    """The service's path for the bundled model: captioned, described pictures, the captioned recipe."""
    drawn = draw_instances()[INSTANCE]
    subject = drawn.subject
    assert subject not in INSTANCES and subject == Subject("boy", "gray", "spotted", "hat", "red")
    photos = drawn.training_photos()
    base = BaseModel.load(bundled_model())
    judge = Judge.load(bundled_judge())
    captioner = SceneCaptioner(judge)
    contexts = captioner.contexts(photos)
    assert contexts == [SCENE_PHRASES[drawn.train_scenes[i % 2]] for i in range(5)]
    description = captioner.describe(photos, subject.kind)
    assert description == "gray spotted boy with a red hat"
    config = recipe_for(base, contexts)
    config.seed = INSTANCE  # the broad evaluation's training seed n + 10 * run, run 0
    info = train_adapter(base, photos, subject.kind, tmp_path / "boy.safetensors", config, contexts=contexts,
                         description=description)
    generator = Generator(base)
    ours, baseline, words, scenes = [], [], [], []
    for scene in drawn.prompted_scenes[:3]:
        phrase, k = SCENE_PHRASES[scene], SCENES.index(scene)
        ours += generator.generate(GenerateRequest(prompt=f"a {SPECIAL_TOKEN} {phrase}", adapter=info.path,
                                                   num_images=4, seed=k, steps=20))
        baseline += generator.generate(GenerateRequest(prompt=f"a {subject.kind} {phrase}", num_images=4,
                                                       seed=k, steps=20))
        words += generator.generate(GenerateRequest(prompt=f"a {description} {phrase}", num_images=4,
                                                    seed=k, steps=20))
        scenes += [scene] * 4
    seen_ours, seen_base, seen_words = judge.predict(ours), judge.predict(baseline), judge.predict(words)
    ours_hits, base_hits = _attribute_hits(seen_ours, subject), _attribute_hits(seen_base, subject)
    ours_scenes = sum(s["scene"] == scene for s, scene in zip(seen_ours, scenes, strict=True))
    whole = (_all_five(seen_ours, subject), _all_five(seen_base, subject), _all_five(seen_words, subject))
    # 12 images x 4 attributes the class word does not name: the adapter must recover far more of the
    # instance than the class word alone does, whole instances included, and keep the prompted scene.
    # Whole instances against the description alone are not asserted: on the broad evaluation the
    # captioner's description drew about as many as the adapter (docs/imprint-tiny.md), and on this
    # instance's records too. With the shipped model, seeds fixed and the captioned recipe of session 11
    # (300 steps of 8 pictures): 45 vs 2 slots; 9, 0 and 8 whole instances (ours, class word,
    # description); 12 scenes of 12.
    # The full measurement is `imprint eval` (docs/imprint-tiny.md).
    assert ours_hits >= base_hits + 24, (ours_hits, base_hits)
    assert whole[0] >= 6 and whole[1] < 2, (whole, seen_ours)
    assert ours_scenes >= 9, (ours_scenes, seen_ours)
