"""Concurrent single-request callers served together: group commit over `Generator.generate_batch`.

Callers (say, the threads of an inference lane, one job each) call `generate` as they would on the
Generator and block until their images are ready. Whoever finds nobody serving becomes the server:
it takes the oldest waiting request plus up to N-1 compatible ones that are waiting too, runs them in
one loop, hands every caller its outcome and, if its own request was not in that batch, goes on
serving. A lone caller is served at once (a batch of one), so nothing waits for company; requests
that arrive while a batch runs wait for it and then go together. Each caller keeps its own progress
callback and cancel event; a caller cancelled while still waiting leaves the queue at once.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable
from dataclasses import dataclass, field

from PIL import Image

from imprint.engine.errors import BadInput, Cancelled
from imprint.engine.generate import MAX_BATCH_REQUESTS, GenerateRequest, Generator
from imprint.engine.progress import ProgressCallback
from imprint.engine.request_batch import BatchItem, Outcome, take_compatible

# How often a waiting caller looks at its cancel event.
CANCEL_POLL_S = 0.2


@dataclass(eq=False)
class _Ticket:
    item: BatchItem
    key: Hashable
    outcome: Outcome | None = field(default=None)


class RequestCombiner:
    def __init__(self, generator: Generator, *, max_requests: int = MAX_BATCH_REQUESTS) -> None:
        self.generator = generator
        self.max_requests = max_requests
        self._waiting: list[_Ticket] = []
        self._changed = threading.Condition()
        self._serving = False

    def generate(
        self,
        request: GenerateRequest,
        *,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> list[Image.Image]:
        ticket = _Ticket(BatchItem(request, progress, cancel), None)
        try:
            ticket.key = self.generator.batch_key(request)
        except BadInput:
            ticket.key = ("invalid", id(ticket))  # alone in its batch, where it fails as BadInput
        with self._changed:
            self._waiting.append(ticket)
        while True:
            batch = self._wait_for_turn(ticket)
            if batch is None:
                break
            self._serve(batch)
        if isinstance(ticket.outcome, Exception):
            raise ticket.outcome
        assert ticket.outcome is not None
        return ticket.outcome

    def _wait_for_turn(self, ticket: _Ticket) -> list[_Ticket] | None:
        """The batch this caller must now serve, or None once its own outcome is in."""
        cancel = ticket.item.cancel
        with self._changed:
            while ticket.outcome is None:
                if not self._serving:
                    self._serving = True
                    return take_compatible(self._waiting, self.max_requests, key=lambda t: t.key)
                if cancel is not None and cancel.is_set() and ticket in self._waiting:
                    self._waiting.remove(ticket)
                    ticket.outcome = Cancelled("generating was cancelled")
                    break
                self._changed.wait(CANCEL_POLL_S if cancel is not None else None)
        return None

    def _serve(self, batch: list[_Ticket]) -> None:
        try:
            outcomes: list[Outcome] = self.generator.generate_batch(
                [t.item for t in batch], max_requests=self.max_requests
            )
        except Exception as exc:  # every caller of the batch hears of it, not only the one serving
            outcomes = [exc] * len(batch)
        with self._changed:
            for ticket, outcome in zip(batch, outcomes, strict=True):
                ticket.outcome = outcome
            self._serving = False
            self._changed.notify_all()
