"""`imprint eval`: prompt fidelity and DreamBooth-style personalization tables for a base model."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer


class InstanceSet(StrEnum):
    broad = "broad"
    classic = "classic"


def evaluate(
    base_model: Annotated[Path | None, typer.Option(help="Pipeline folder (default: bundled).")] = None,
    judge: Annotated[Path | None, typer.Option(help="Judge folder (default: the bundled one).")] = None,
    out: Annotated[Path, typer.Option(help="Folder for sheets and report.json.")] = Path("eval-out"),
    prompts: Annotated[int, typer.Option(help="Prompts in the prompt-fidelity table.")] = 84,
    per_scene: Annotated[int, typer.Option(help="Images per unseen scene and instance.")] = 3,
    steps: Annotated[int, typer.Option(help="Sampling steps.")] = 20,
    train_steps: Annotated[int | None, typer.Option(help="Adapter training steps.")] = None,
    skip_personalization: Annotated[bool, typer.Option(help="Only the base model's table.")] = False,
    captions: Annotated[bool, typer.Option(
        help="Caption the training pictures' scenes with the judge, as the service does for the "
             "bundled model (--no-captions: the uncaptioned recipe).")] = True,
    descriptions: Annotated[bool, typer.Option(
        help="With captions, also describe the subject in them, as the service does (--no-descriptions: "
             "scenes only, the subject named by its class word).")] = True,
    seeds: Annotated[int | None, typer.Option(
        help="Adapters trained per instance (training seeds n, n+10, ...); their images are pooled "
             "(default: 2 for broad, 1 for classic).")] = None,
    instances: Annotated[InstanceSet, typer.Option(
        help="broad: --count instances drawn at random over every type and attribute, each trained on "
             "two random scenes and prompted into the other four, resumable from OUT/records.jsonl; "
             "classic: the four instances the recipe was tuned on, trained in a room and a forest "
             "(the card's history).")] = InstanceSet.broad,
    count: Annotated[int, typer.Option(help="Instances in the broad draw.")] = 24,
    draw_seed: Annotated[int, typer.Option(help="Seed of the broad draw.")] = 0,
    tables_from: Annotated[Path | None, typer.Option(
        help="Only print the broad tables computed from this records.jsonl (no model is loaded).")] = None,
    threads: Annotated[int, typer.Option(help="torch CPU threads.")] = 2,
) -> None:
    """Print the fidelity tables (Markdown) and write contact sheets."""
    if tables_from is not None:
        from imprint.evaluation.broad_tables import tables_from as tables

        print(tables(tables_from), end="")
        return
    import torch

    from imprint.evaluation.run import evaluate as run
    from imprint.models import bundled_judge, bundled_model

    torch.set_num_threads(threads)
    if seeds is None:
        seeds = 2 if instances is InstanceSet.broad else 1
    run(base_model or bundled_model(), judge or bundled_judge(), out, prompts=prompts, per_scene=per_scene,
        steps=steps, train_steps=train_steps, skip_personalization=skip_personalization, captions=captions,
        seeds=seeds, descriptions=descriptions, instances=instances.value, count=count, draw_seed=draw_seed)
