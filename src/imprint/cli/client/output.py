"""What the client commands share in how they answer: JSON for scripts, tables or tab-separated
lines, the server's warnings, and following a job until it ends."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer
from rich.table import Table

from imprint.cli.client.api import ImprintClient
from imprint.cli.client.connect import err, out
from imprint.cli.client.jobs_view import follow_hint, inference_state, is_inference_job_id, training_state
from imprint.cli.client.waiting import JobState, StoppedWaiting, wait


def emit(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=None))


def warn(job: dict[str, Any]) -> None:
    """What the server says about the job it accepted (capped counts, unknown words...)."""
    for text in job.get("warnings") or []:
        err.print(f"warning: {text}", markup=False, soft_wrap=True)


def reason(state: JobState) -> str:
    return state.failure_reason or "no reason given"


def percent(progress: Any) -> str:
    return f"{float(progress or 0) * 100:.0f}%"


def print_rows(rows: list[dict[str, Any]], columns: list[str]) -> None:
    """A table on a terminal; tab-separated lines (with a header) elsewhere."""
    if out.is_terminal:
        table = Table(*columns)
        for row in rows:
            table.add_row(*(str(row[c]) if row[c] is not None else "" for c in columns))
        out.print(table)
        return
    print("\t".join(columns))
    for row in rows:
        print("\t".join("" if row[c] is None else str(row[c]) for c in columns))


def follow_job(client: ImprintClient, job_id: str, label: str) -> JobState:
    poll = ((lambda: inference_state(client, job_id)) if is_inference_job_id(job_id)
            else (lambda: training_state(client, job_id)))
    return wait(poll, label=label, console=err)


@contextmanager
def ctrl_c_leaves(job_id: str) -> Iterator[None]:
    """Ctrl-C from here on stops the waiting, never the job, and says how to pick it up again."""
    try:
        yield
    except (KeyboardInterrupt, StoppedWaiting):
        err.print(f"Stopped waiting; the job goes on on the server. Follow it with: {follow_hint(job_id)}",
                  markup=False, soft_wrap=True)
        raise typer.Exit(130) from None
