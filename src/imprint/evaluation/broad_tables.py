"""The broad evaluation's tables, computed from its records (one JSON object per judged image) alone.

Each figure is written `67% (16/24)`: hits of images, so a table can be checked against the records
and pooled figures recomputed by hand. Arms: "adapter" (the service's path, pooled over training
seeds), "class-word" (`a dog on the beach`) and "described" (the captioner's description, no
adapter): the last two train nothing and are drawn once per instance.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable, Iterable
from pathlib import Path

from imprint.evaluation.fidelity import Table
from imprint.world.subject import Subject
from imprint.world.vocabulary import (
    ACCESSORIES,
    ACCESSORY_COLOURS,
    COLOURS,
    PATTERNS,
    SCENES,
    SUBJECT_TYPES,
)

ARM_NAMES = {"adapter": "adapter", "class-word": "class-word baseline", "described": "described baseline"}
# Attribute: the values it can take, in the vocabulary's order.
ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "colour": COLOURS, "pattern": PATTERNS, "accessory": ACCESSORIES, "accessory_colour": ACCESSORY_COLOURS,
}


def fraction(hits: int, total: int) -> str:
    return f"{100 * hits / total:.0f}% ({hits}/{total})" if total else "-"


def _count(records: list[dict], hit: Callable[[dict], bool]) -> str:
    return fraction(sum(1 for r in records if hit(r)), len(records))


def _arms(records: list[dict]) -> list[str]:
    present = {r["arm"] for r in records}
    return [a for a in ARM_NAMES if a in present]


def _attribute_drawn(record: dict, attribute: str) -> bool:
    return record["seen"][attribute] == (record["subject"][attribute] or "none")


def _subject(r: dict) -> bool:
    return r["subject_hit"]


def _scene(r: dict) -> bool:
    return r["scene_hit"]


def overall(records: list[dict]) -> Table:
    table = Table("Broad personalization: all instances, in the four scenes each was not trained on",
                  ["arm", "instances", "adapters", "images", "subject fid.", "prompt fid."])
    for arm in _arms(records):
        mine = [r for r in records if r["arm"] == arm]
        adapters = str(len({(r["instance"], r["run"]) for r in mine})) if arm == "adapter" else "-"
        table.rows.append([ARM_NAMES[arm], str(len({r["instance"] for r in mine})), adapters,
                           str(len(mine)), _count(mine, _subject), _count(mine, _scene)])
    return table


def _breakdown(title: str, label: str, records: list[dict],
               groups: Iterable[tuple[str, Callable[[dict], bool]]]) -> Table:
    arms = _arms(records)
    columns = [label, "instances"]
    for arm in arms:
        prefix = "" if arm == "adapter" else f"{ARM_NAMES[arm]} "
        columns += [f"{prefix}subject fid.", f"{prefix}prompt fid."]
    table = Table(title, columns)
    for name, member in groups:
        mine = [r for r in records if member(r)]
        if not mine:
            continue
        row = [name, str(len({r["instance"] for r in mine}))]
        for arm in arms:
            of_arm = [r for r in mine if r["arm"] == arm]
            row += [_count(of_arm, _subject), _count(of_arm, _scene)]
        table.rows.append(row)
    return table


def per_type(records: list[dict]) -> Table:
    return _breakdown("Broad personalization by subject type", "type", records,
                      [(kind, lambda r, k=kind: r["subject"]["kind"] == k) for kind in SUBJECT_TYPES])


def per_scene(records: list[dict]) -> Table:
    return _breakdown("Broad personalization by prompted scene", "prompted scene", records,
                      [(scene, lambda r, s=scene: r["scene"] == s) for scene in SCENES])


def per_attribute(records: list[dict]) -> Table:
    """For each value of each attribute: the subject fidelity of the instances that have it, and how
    often that one attribute is drawn right (a hat's colour only counts on hats and scarves)."""
    arms = _arms(records)
    columns = ["attribute", "value", "instances"]
    for arm in arms:
        prefix = "" if arm == "adapter" else f"{ARM_NAMES[arm]} "
        columns += [f"{prefix}subject fid.", f"{prefix}attribute drawn"]
    table = Table("Broad personalization by attribute value: what fails first", columns)
    for attribute, values in ATTRIBUTES.items():
        for value in values:
            mine = [r for r in records if r["subject"][attribute] == value]
            if not mine:
                continue
            row = [attribute.replace("_", " "), value, str(len({r["instance"] for r in mine}))]
            for arm in arms:
                of_arm = [r for r in mine if r["arm"] == arm]
                row += [_count(of_arm, _subject),
                        _count(of_arm, lambda r, a=attribute: _attribute_drawn(r, a))]
            table.rows.append(row)
    return table


def leak(records: list[dict]) -> Table:
    """Where the judge puts the images: the prompted scene, one of the instance's two training scenes
    (the adapter dragging its photos' surroundings along), or elsewhere. The baselines saw no training
    pictures: their training-scene column is the rate at which those scenes appear anyway."""
    table = Table("Training-scene leak: the scene the judge sees when another was prompted",
                  ["arm", "images", "prompted scene", "a training scene of the instance", "another scene"])
    for arm in _arms(records):
        mine = [r for r in records if r["arm"] == arm]
        table.rows.append([ARM_NAMES[arm], str(len(mine)), _count(mine, _scene),
                           _count(mine, lambda r: r["seen"]["scene"] in r["train_scenes"]),
                           _count(mine, lambda r: not r["scene_hit"]
                                  and r["seen"]["scene"] not in r["train_scenes"])])
    return table


def leak_by_training_scene(records: list[dict]) -> Table:
    """Which training scenes leak: of the adapter images of instances trained on a scene, the share
    the judge places in it."""
    table = Table("Training-scene leak by training scene (adapter images)",
                  ["training scene", "instances", "images", "judged in it"])
    adapters = [r for r in records if r["arm"] == "adapter"]
    for scene in SCENES:
        mine = [r for r in adapters if scene in r["train_scenes"]]
        if mine:
            table.rows.append([scene, str(len({r["instance"] for r in mine})), str(len(mine)),
                               _count(mine, lambda r, s=scene: r["seen"]["scene"] == s)])
    return table


def training_seconds(records: Iterable[dict]) -> list[float]:
    """Seconds of training of each adapter in the records."""
    seconds = {(r["instance"], r["run"]): r["train_seconds"] for r in records if r["arm"] == "adapter"}
    return list(seconds.values())


def timing(records: list[dict]) -> Table:
    seconds = training_seconds(records)
    table = Table("Seconds of training per adapter", ["adapters", "min", "median", "max"])
    if seconds:
        table.rows.append([str(len(seconds)), f"{min(seconds):.0f}", f"{statistics.median(seconds):.0f}",
                           f"{max(seconds):.0f}"])
    return table


def instances(records: list[dict]) -> Table:
    """The drawn instances (for the model card), with each one's pooled adapter figures."""
    table = Table("The instances of the broad evaluation",
                  ["#", "instance", "training scenes", "prompted scenes", "description (captioner)",
                   "adapters", "subject fid.", "prompt fid."])
    for n in sorted({r["instance"] for r in records}):
        mine = [r for r in records if r["instance"] == n]
        first = mine[0]
        name = Subject(**first["subject"]).describe()
        ours = [r for r in mine if r["arm"] == "adapter"]
        table.rows.append([str(n), name, ", ".join(first["train_scenes"]),
                           ", ".join(s for s in SCENES if s not in first["train_scenes"]),
                           first["description"] or "(none)", str(len({r["run"] for r in ours})),
                           _count(ours, _subject), _count(ours, _scene)])
    return table


def tables(records: list[dict]) -> list[Table]:
    return [overall(records), per_type(records), per_attribute(records), per_scene(records), leak(records),
            leak_by_training_scene(records), timing(records), instances(records)]


def markdown(records: list[dict]) -> str:
    return "\n\n".join(t.markdown() for t in tables(records)) + "\n"


def load_records(path: Path) -> list[dict]:
    """The records of a run; a last line torn by an interruption is dropped."""
    if not path.exists():
        return []
    records = []
    for line in path.read_text().splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records


def tables_from(path: Path) -> str:
    return markdown(load_records(path))
