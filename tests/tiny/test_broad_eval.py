"""The broad personalization evaluation: its seeded draw, its records written as the run goes and
resumed after an interruption, and its tables computed from the records alone."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from imprint.cli.main import app
from imprint.engine import BaseModel, Generator
from imprint.evaluation import broad
from imprint.evaluation.broad import RECORDS, broad_personalization, draw_instances
from imprint.evaluation.broad_tables import (
    leak,
    load_records,
    overall,
    per_attribute,
    per_scene,
    per_type,
    timing,
)
from imprint.evaluation.captioner import SceneCaptioner
from imprint.evaluation.fidelity import INSTANCES
from imprint.evaluation.judge import Judge
from imprint.models import bundled_judge, bundled_model
from imprint.world.subject import Subject
from imprint.world.vocabulary import SCENES, SUBJECT_TYPES


def test_the_draw_is_fixed_by_its_seed_covers_every_type_and_misses_the_tuning_set() -> None:
    drawn = draw_instances(24, seed=0)
    assert drawn == draw_instances(24, seed=0)
    assert [d.subject for d in drawn] != [d.subject for d in draw_instances(24, seed=1)]
    kinds = Counter(d.subject.kind for d in drawn)
    assert set(kinds) == set(SUBJECT_TYPES) and min(kinds.values()) >= 3
    subjects = [d.subject for d in drawn]
    assert len(set(subjects)) == 24 and not set(subjects) & set(INSTANCES)
    for d in drawn:
        assert len(set(d.train_scenes)) == 2 and set(d.train_scenes) <= set(SCENES)
        assert sorted(d.prompted_scenes + d.train_scenes) == sorted(SCENES)
    assert [d.index for d in drawn] == list(range(24))


def test_a_draw_that_meets_the_tuning_set_draws_again(monkeypatch: pytest.MonkeyPatch) -> None:
    first = draw_instances(24, seed=0)
    # Pretend the first three instances of this draw were the tuning set.
    monkeypatch.setattr(broad, "INSTANCES", tuple(d.subject for d in first[:3]))
    again = draw_instances(24, seed=0)
    assert not {d.subject for d in again} & {d.subject for d in first[:3]}
    assert Counter(d.subject.kind for d in again) == Counter(d.subject.kind for d in first)


def test_records_are_written_as_the_run_goes_and_a_rerun_trains_only_what_is_missing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    base = BaseModel.load(bundled_model())
    judge = Judge.load(bundled_judge())
    out, work = tmp_path / "out", tmp_path / "work"
    work.mkdir()
    trained: list[tuple[str, int]] = []

    def counting(*args, **kwargs):
        trained.append((args[2], args[4].seed))
        if interrupt and len(trained) == 2:
            raise KeyboardInterrupt  # the second adapter (instance 1's) is cut short
        return real(*args, **kwargs)

    real = broad.train_adapter
    monkeypatch.setattr(broad, "train_adapter", counting)
    instances = draw_instances(2, seed=0)

    def run() -> list[dict]:
        return broad_personalization(base, Generator(base), judge, out, work, count=2, per_scene=1, steps=2,
                                     train_steps=2, seeds=1, captioner=SceneCaptioner(judge),
                                     log=lambda _: None)

    interrupt = True
    with pytest.raises(KeyboardInterrupt):
        run()
    written = load_records(out / RECORDS)
    # Instance 0: both baselines and its adapter; instance 1: both baselines (drawn before training),
    # 4 prompted scenes x 1 image each.
    assert Counter(broad.unit_of(r) for r in written) == {
        (0, "class-word", None): 4, (0, "described", None): 4, (0, "adapter", 0): 4,
        (1, "class-word", None): 4, (1, "described", None): 4}
    first = [r for r in written if r["instance"] == 0 and r["arm"] == "adapter"]
    assert {r["scene"] for r in first} == set(instances[0].prompted_scenes)
    assert first[0]["train_scenes"] == list(instances[0].train_scenes) and first[0]["train_seed"] == 0
    assert first[0]["subject"] == instances[0].subject.as_dict()
    assert set(first[0]["seen"]) >= {"kind", "scene"}
    # An interruption inside a unit: instance 1's described baseline lost its last two images and
    # the line being written was torn.
    lines = (out / RECORDS).read_text().splitlines(keepends=True)
    described_1 = [i for i, line in enumerate(lines) if json.loads(line)["instance"] == 1
                   and json.loads(line)["arm"] == "described"]
    del lines[described_1[-2]:described_1[-1] + 1]
    (out / RECORDS).write_text("".join(lines) + '{"instance": 1, "arm": "descr')

    interrupt = False
    trained.clear()
    records = run()
    assert trained == [(instances[1].subject.kind, 1)]  # instance 0's adapter is not trained again
    final = load_records(out / RECORDS)
    assert final == records
    units = (("class-word", None), ("described", None), ("adapter", 0))
    expected = {(n, arm, run): 4 for n in (0, 1) for arm, run in units}
    assert Counter(broad.unit_of(r) for r in final) == expected
    assert final[:12] == written[:12]  # instance 0's records are kept as they were
    assert len({(r["instance"], r["arm"], r["run"], r["scene"], r["image"]) for r in final}) == 24
    assert sorted(p.name for p in (out / "sheets").iterdir()) == [
        f"instance-0{n}-{arm}.png" for n in (0, 1) for arm in ("adapter-0", "class-word", "described")]
    assert not list(work.iterdir())  # adapters are deleted once judged

    with pytest.raises(ValueError, match="other settings"):
        broad_personalization(base, Generator(base), judge, out, work, count=2, per_scene=2, steps=2,
                              train_steps=2, seeds=1, captioner=SceneCaptioner(judge), log=lambda _: None)


DOG = Subject("dog", "golden", "spotted", "scarf", "red")
GIRL = Subject("girl", "red", "plain", "glasses")


def _record(n: int, subject: Subject, train: tuple[str, str], arm: str, run: int | None, scene: str,
            seen_scene: str, **wrong: str) -> dict:
    """One judged image; the judge reads the subject right except for the attributes in `wrong`."""
    truth = {k: v or "none" for k, v in subject.as_dict().items()}
    seen = truth | wrong | {"scene": seen_scene}
    record = {"instance": n, "subject": subject.as_dict(), "train_scenes": list(train), "description": None,
              "arm": arm, "run": run, "scene": scene, "image": 0, "seen": seen,
              "subject_hit": not wrong, "scene_hit": seen_scene == scene}
    if arm == "adapter":
        record |= {"train_seed": n + 10 * run, "train_seconds": 40.0 + 10 * n + run}
    return record


def test_tables_from_hand_written_records_count_exactly_what_was_written(tmp_path: Path) -> None:
    dog, girl = (0, DOG, ("room", "forest")), (1, GIRL, ("beach", "city"))
    records = [
        # The dog's two adapters: 3 of 4 whole; one drops the scarf's colour; one leaks the room.
        _record(*dog, "adapter", 0, "snow", "snow"),
        _record(*dog, "adapter", 0, "night", "room"),
        _record(*dog, "adapter", 1, "snow", "snow", accessory_colour="blue"),
        _record(*dog, "adapter", 1, "night", "night"),
        _record(*dog, "class-word", None, "snow", "snow", pattern="plain", accessory="none",
                accessory_colour="none"),
        _record(*dog, "class-word", None, "night", "city", accessory="none", accessory_colour="none"),
        # The girl's one adapter loses her glasses once; the class word never draws them.
        _record(*girl, "adapter", 0, "snow", "snow", accessory="none"),
        _record(*girl, "adapter", 0, "room", "beach"),
        _record(*girl, "class-word", None, "snow", "snow", accessory="none"),
        _record(*girl, "class-word", None, "room", "room", accessory="none"),
    ]
    path = tmp_path / RECORDS
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    loaded = load_records(path)
    assert loaded == records

    assert overall(loaded).rows == [
        ["adapter", "2", "3", "6", "67% (4/6)", "67% (4/6)"],
        ["class-word baseline", "2", "-", "4", "0% (0/4)", "75% (3/4)"]]
    assert per_type(loaded).rows == [
        ["girl", "1", "50% (1/2)", "50% (1/2)", "0% (0/2)", "100% (2/2)"],
        ["dog", "1", "75% (3/4)", "75% (3/4)", "0% (0/2)", "50% (1/2)"]]
    attributes = {(row[0], row[1]): row[2:] for row in per_attribute(loaded).rows}
    assert attributes[("accessory", "glasses")] == ["1", "50% (1/2)", "50% (1/2)", "0% (0/2)", "0% (0/2)"]
    assert attributes[("accessory colour", "red")] == ["1", "75% (3/4)", "75% (3/4)", "0% (0/2)", "0% (0/2)"]
    assert attributes[("pattern", "spotted")] == ["1", "75% (3/4)", "100% (4/4)", "0% (0/2)", "50% (1/2)"]
    assert attributes[("colour", "red")][:3] == ["1", "50% (1/2)", "100% (2/2)"]
    assert ("colour", "black") not in attributes and ("accessory", "hat") not in attributes
    scenes = {row[0]: row[1:] for row in per_scene(loaded).rows}
    assert list(scenes) == ["snow", "night", "room"]
    assert scenes["snow"] == ["2", "33% (1/3)", "100% (3/3)", "0% (0/2)", "100% (2/2)"]
    assert scenes["night"] == ["1", "100% (2/2)", "50% (1/2)", "0% (0/1)", "0% (0/1)"]
    # Seen in a training scene of its own instance: the dog's room and the girl's beach; the class
    # word's city for the dog is another scene, its room for the girl the prompted one.
    assert leak(loaded).rows == [
        ["adapter", "6", "67% (4/6)", "33% (2/6)", "0% (0/6)"],
        ["class-word baseline", "4", "75% (3/4)", "0% (0/4)", "25% (1/4)"]]
    assert timing(loaded).rows == [["3", "40", "41", "50"]]

    result = CliRunner().invoke(app, ["eval", "--tables-from", str(path)])
    assert result.exit_code == 0, result.output
    assert "| adapter | 2 | 3 | 6 | 67% (4/6) | 67% (4/6) |" in result.output
    girl_row = ("| 1 | a red girl with glasses | beach, city | snow, forest, night, room | (none) | 1 "
                "| 50% (1/2) |")
    assert girl_row in result.output
