"""`imprint draw`: pictures of one subject of the bundled model's world, ready to train on.

imprint-tiny draws a small cartoon world (docs/imprint-tiny.md); real photos are not its world. These
renders are what a personalization of the bundled model is meant for, and what the README's usage
program trains on.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Annotated

import typer

from imprint.cli.common import console
from imprint.cli.common import fail as _fail
from imprint.world.render import render
from imprint.world.subject import Subject
from imprint.world.vocabulary import SCENES, SUBJECT_TYPES


def draw(
    kind: Annotated[str, typer.Argument(help=f"What to draw: one of {', '.join(SUBJECT_TYPES)}.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the pictures (created if missing).")],
    count: Annotated[int, typer.Option(min=1, max=50, help="Pictures, each in another scene.")] = 5,
    seed: Annotated[int, typer.Option(help="Picks the subject (colour, pattern, accessory).")] = 0,
    size: Annotated[int, typer.Option(min=16, max=512, help="Side in pixels (the model's own: 64).")] = 64,
) -> None:
    """Write COUNT renders of one subject of KIND, in different scenes, as PNG files."""
    if kind not in SUBJECT_TYPES:
        raise _fail(f"imprint-tiny draws {', '.join(SUBJECT_TYPES)}; not {kind!r}")
    rng = random.Random(seed)
    subject = Subject.sample(rng, kind)
    scenes = list(SCENES)
    rng.shuffle(scenes)
    out.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        path = out / f"{kind}-{i}.png"
        render(subject, scenes[i % len(scenes)], seed=seed * 1000 + i, size=size).save(path)
    console.print(f"{count} pictures of {subject.describe()} in {out}/ ({kind}-0.png ...)")
