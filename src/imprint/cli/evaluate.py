"""`imprint eval`: prompt fidelity and DreamBooth-style personalization tables for a base model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


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
    seeds: Annotated[int, typer.Option(
        help="Adapters trained per instance (training seeds n, n+10, ...); their images are pooled.")] = 1,
    threads: Annotated[int, typer.Option(help="torch CPU threads.")] = 2,
) -> None:
    """Print the two fidelity tables (Markdown) and write contact sheets."""
    import torch

    from imprint.evaluation.run import evaluate as run
    from imprint.models import bundled_judge, bundled_model

    torch.set_num_threads(threads)
    run(base_model or bundled_model(), judge or bundled_judge(), out, prompts=prompts, per_scene=per_scene,
        steps=steps, train_steps=train_steps, skip_personalization=skip_personalization, captions=captions,
        seeds=seeds, descriptions=descriptions)
