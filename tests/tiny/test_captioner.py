"""Captions of training pictures: the judge names each picture's scene and describes the subject they
share, and the service uses it for the bundled model only (the one whose world the judge knows)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from imprint.evaluation import captioner as captioner_module
from imprint.evaluation.captioner import SceneCaptioner
from imprint.models import bundled_judge, bundled_model
from imprint.worker.engine_runtime import captioner_folder
from imprint.world.render import render
from imprint.world.subject import Subject
from imprint.world.vocabulary import SCENE_PHRASES, SCENES


def test_each_picture_gets_its_scene_phrase() -> None:
    subject = Subject("cat", "black", "striped", "hat", "yellow")
    pictures = [render(subject, scene, seed=40 + i) for i, scene in enumerate(SCENES)]
    captions = SceneCaptioner.load(bundled_judge()).contexts(pictures)
    assert captions == [SCENE_PHRASES[scene] for scene in SCENES]


def test_an_unsure_scene_is_left_unsaid(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(captioner_module, "MIN_CONFIDENCE", 1.01)
    picture = render(Subject("dog", "brown", "plain"), "beach", seed=1)
    assert SceneCaptioner.load(bundled_judge()).contexts([picture]) == [""]
    assert SceneCaptioner.load(bundled_judge()).contexts([]) == []


@pytest.mark.parametrize(("subject", "expected"), [
    (Subject("dog", "golden", "spotted", "scarf", "red"), "golden spotted dog with a red scarf"),
    (Subject("girl", "red", "plain", "glasses"), "red girl with glasses"),
    (Subject("cat", "white", "striped"), "white striped cat"),
])
def test_the_subject_is_described_by_what_its_pictures_share(subject: Subject, expected: str) -> None:
    pictures = [render(subject, ("room", "forest", "beach")[i % 3], seed=900 + i) for i in range(5)]
    captioner = SceneCaptioner.load(bundled_judge())
    assert captioner.describe(pictures, subject.kind) == expected
    # The service's single pass gives both halves alike.
    both = captioner.caption(pictures, subject.kind)
    assert (both.contexts, both.description) == (captioner.contexts(pictures), expected)


def test_a_minority_reading_stays_out_of_the_description() -> None:
    # Two of five pictures wear a hat: the hat is not part of what the subject is.
    plain, hatted = Subject("dog", "brown", "plain"), Subject("dog", "brown", "plain", "hat", "blue")
    pictures = [render(plain if i < 3 else hatted, "room", seed=i) for i in range(5)]
    assert SceneCaptioner.load(bundled_judge()).describe(pictures, "dog") == "brown dog"


def test_no_description_when_the_judge_cannot_vouch_for_the_type(monkeypatch: pytest.MonkeyPatch) -> None:
    cats = [render(Subject("cat", "black", "striped", "hat", "yellow"), "room", seed=i) for i in range(3)]
    captioner = SceneCaptioner.load(bundled_judge())
    assert captioner.describe(cats, "dog") is None  # the pictures show a cat: don't teach "dog" as one
    assert captioner.describe(cats, "robot") is None  # a type the judge does not know
    assert captioner.describe([], "cat") is None
    assert captioner.describe(cats, " Cat ") == "black striped cat with a yellow hat"
    monkeypatch.setattr(captioner_module, "MIN_CONFIDENCE", 1.01)
    assert captioner.describe(cats, "cat") is None


def test_auto_captions_the_bundled_model_only(tmp_path: Path) -> None:
    assert captioner_folder(str(bundled_model()), "auto") == bundled_judge()
    assert captioner_folder(str(tmp_path / "sd15"), "auto") is None
    assert captioner_folder(str(bundled_model()), "none") is None
    assert captioner_folder(str(tmp_path / "sd15"), str(tmp_path / "judge")) == tmp_path / "judge"


def test_the_service_trains_the_bundled_model_on_captioned_pictures(tmp_path: Path) -> None:
    from imprint.engine.adapter_file import read_adapter
    from imprint.worker.engine_runtime import EngineRuntime

    subject = Subject("dog", "golden", "spotted", "scarf", "red")
    pictures = [render(subject, ("room", "forest")[i % 2], seed=900 + i) for i in range(3)]
    out = tmp_path / "dog.safetensors"
    stages: list[float] = []
    EngineRuntime(str(bundled_model())).train(pictures, object_type="dog", out_path=out, steps=2, seed=0,
                                              progress=stages.append, cancel=threading.Event())
    metadata, lora, _ = read_adapter(out)
    # Two captions (room, forest) and the captioned recipe: rank 32 with text-encoder LoRA.
    assert (metadata["captions"], metadata["train_text_encoder"], metadata["rank"]) == ("2", "true", "32")
    assert metadata["subject"] == "golden spotted dog with a red scarf"
    assert any(k.startswith("text_encoder.") for k in lora) and stages[-1] == 1.0

    uncaptioned = tmp_path / "plain.safetensors"
    EngineRuntime(str(bundled_model()), captioner="none").train(
        pictures, object_type="dog", out_path=uncaptioned, steps=2, seed=0, progress=stages.append,
        cancel=threading.Event())
    metadata, _, _ = read_adapter(uncaptioned)
    assert (metadata["captions"], metadata["train_text_encoder"], metadata["rank"]) == ("1", "false", "8")
    assert metadata["subject"] == "dog"
