"""Requests served together: which can share a denoising loop, and each one's progress and outcome.

Requests share a loop when they agree on steps, guidance scale, image size and scheduler (the loop's
timesteps, batch layout, latent shape and update rule); prompts, negative prompts, seeds, image
counts, adapters and adapter scales may differ.
A loop holds at most as many distinct adapters as the adapter cache, or loading the last would evict
the first. Each request keeps its own progress callback and cancel event: a cancelled or failing
request gets its error as its outcome and the others carry on (its rows are still computed, since
the batch is fixed once the loop starts); the loop ends early only when no request is left.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import torch
from PIL import Image

from imprint.engine.adapter_cache import WarmAdapter
from imprint.engine.batched_lora import Choice
from imprint.engine.progress import ProgressCallback, StepClock

if TYPE_CHECKING:
    from imprint.engine.generate import GenerateRequest

Outcome = list[Image.Image] | Exception  # a request's images, or why it has none
T = TypeVar("T")


@dataclass
class BatchItem:
    request: GenerateRequest
    progress: ProgressCallback | None = None
    cancel: threading.Event | None = None


def plan_batches(
    keys: Sequence[Hashable], adapters: Sequence[Path | None], *, max_adapters: int, max_requests: int
) -> list[list[int]]:
    """Indices of the requests, split into loops: each loop takes the earliest request not yet placed
    and then, in arrival order, those with the same key while it has room for their adapter."""
    batches: list[list[int]] = []
    open_batches: dict[Hashable, tuple[list[int], set[Path]]] = {}
    for i, (key, adapter) in enumerate(zip(keys, adapters, strict=True)):
        batch = open_batches.get(key)
        needs = {adapter} if adapter is not None else set()
        if batch is None or len(batch[0]) >= max_requests or len(batch[1] | needs) > max_adapters:
            batch = ([], set())
            open_batches[key] = batch
            batches.append(batch[0])
        batch[0].append(i)
        batch[1].update(needs)
    return batches


def take_compatible(queue: list[T], limit: int, key: Callable[[T], Hashable]) -> list[T]:
    """Removes and returns the queue's head and, in arrival order, up to limit - 1 more items with the
    same key: what a server holding a queue hands to one batched generation."""
    if not queue:
        return []
    wanted = key(queue[0])
    taken = [i for i, item in enumerate(queue) if key(item) == wanted][:limit]
    picked = [queue[i] for i in taken]
    for i in reversed(taken):
        del queue[i]
    return picked


@dataclass
class Member:
    """One request of a running loop: its clock, its subject phrase and, once it has one, its error."""

    item: BatchItem
    clock: StepClock
    subject: str | None = None
    choice: int = 0  # 0: no adapter; k: choices[k - 1] of the loop's routing
    error: Exception | None = None
    images: list[Image.Image] | None = None

    def start(self) -> None:
        self.guard(self.clock.start)

    def step(self, done: int) -> None:
        if self.error is None:
            self.guard(lambda: self.clock.step(done))

    def guard(self, report: Callable[[], None]) -> None:
        """Runs a progress report or cancel check: its exception becomes this request's outcome, since a
        failing progress writer or a cancel ends this request only, not its batch neighbours."""
        try:
            report()
        except Exception as exc:
            self.error = exc

    def outcome(self) -> Outcome:
        if self.error is not None:
            return self.error
        if self.images is None:
            raise RuntimeError("a batch member ended with neither images nor an error")
        return self.images


class Routing:
    """Which adapter choice each request, and so each row of a batch, uses."""

    def __init__(self) -> None:
        self.choices: list[Choice] = []

    def assign(self, member: Member, adapter: WarmAdapter, scale: float) -> None:
        choice = (adapter, scale)
        if choice not in self.choices:  # WarmAdapter compares by identity
            self.choices.append(choice)
        member.choice = self.choices.index(choice) + 1
        member.subject = adapter.subject

    @staticmethod
    def text_rows(members: Sequence[Member]) -> torch.Tensor:
        """One row per request: the text encoder sees each prompt once."""
        return torch.tensor([m.choice for m in members])

    @staticmethod
    def image_rows(members: Sequence[Member], guided: bool) -> torch.Tensor:
        """One row per image, and the unconditional half under guidance takes the same adapters."""
        rows = torch.tensor([m.choice for m in members for _ in range(m.item.request.num_images)])
        return torch.cat([rows, rows]) if guided else rows
