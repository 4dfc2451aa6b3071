"""Job events for webhooks, written to the outbox in the same transaction as the status change.

Every status change goes through `states.apply`, whoever makes it (the API, an in-process lane, a
Celery worker, cancel); this module watches the session instead of each caller, so none can forget:
after each flush it looks at the job rows whose status changed, and adds one outbox row per
registered endpoint that wants the event, plus one for the job's own `callbackUrl`. The payload is
built by the function `install` was given (the job object the query operations return), from the
row as flushed; a later flush in the same transaction refreshes it, so the row as committed is what
is sent.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session, sessionmaker

from imprint.service.states import Status, is_terminal
from imprint.store.rows import InferenceJobRow, TrainJobRow
from imprint.store.webhook_rows import WebhookDeliveryRow, WebhookEndpointRow

TRAINING_STARTED = "training.started"
TRAINING_FINISHED = "training.finished"
TRAINING_FAILED = "training.failed"
INFERENCE_FINISHED = "inference.finished"
INFERENCE_FAILED = "inference.failed"
EVENTS = (TRAINING_STARTED, TRAINING_FINISHED, TRAINING_FAILED, INFERENCE_FINISHED, INFERENCE_FAILED)

JobRow = TrainJobRow | InferenceJobRow
Payload = Callable[[Session, JobRow], dict[str, Any]]
_PENDING = "imprint.job_events"


def event_for(row: JobRow, status: str) -> str | None:
    """The event a job entering `status` raises, if any."""
    if isinstance(row, TrainJobRow):
        if row.origin != "v1":  # a v2 job's internal model: its inference job speaks for it
            return None
        if status == Status.TRAINING:
            return TRAINING_STARTED
        if status == Status.FINISHED:
            return TRAINING_FINISHED
        return TRAINING_FAILED if is_terminal(status) else None
    if status == Status.FINISHED:
        return INFERENCE_FINISHED
    return INFERENCE_FAILED if is_terminal(status) else None


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _entered(row: JobRow, new: bool) -> str | None:
    if new:
        return row.status
    history = inspect(row).attrs.status.history
    return history.added[0] if history.added and history.added[0] not in history.deleted else None


def _envelope(kind: str, payload: dict[str, Any], now: datetime) -> str:
    # The Standard Webhooks payload shape: type, timestamp, data (here: the job object).
    return json.dumps({"type": kind, "timestamp": now.isoformat(timespec="microseconds") + "Z",
                       "data": payload}, separators=(",", ":"), ensure_ascii=False)


class OutboxWriter:
    """The session listener: outbox rows for the job events each flush writes."""

    def __init__(self, payload: Payload, clock: Callable[[], datetime] = _utcnow) -> None:
        self.payload, self.clock = payload, clock

    def after_flush(self, session: Session, _context: Any) -> None:
        # After the flush, new rows have their ids; new/dirty and the attribute history still show
        # what this flush wrote. Rows added here are flushed by the commit's next flush.
        pending: dict[int, tuple[JobRow, list[WebhookDeliveryRow]]] = session.info.setdefault(_PENDING, {})
        now = self.clock()
        with session.no_autoflush:
            for row, new in [*((r, True) for r in session.new), *((r, False) for r in session.dirty)]:
                if not isinstance(row, TrainJobRow | InferenceJobRow):
                    continue
                status = _entered(row, new)
                kind = event_for(row, status) if status is not None else None
                if kind is not None:
                    deliveries = self._deliveries(session, row, kind, now)
                    if deliveries:
                        pending[id(row)] = (row, deliveries)
                elif id(row) in pending:  # changed again after its event: send it as it now is
                    held, deliveries = pending[id(row)]
                    for delivery in deliveries:
                        delivery.payload = _envelope(delivery.event, self.payload(session, held),
                                                     delivery.created_at)

    def _deliveries(self, session: Session, row: JobRow, kind: str,
                    now: datetime) -> list[WebhookDeliveryRow]:
        targets: list[tuple[str | None, str]] = [
            (e.id, e.url) for e in session.scalars(select(WebhookEndpointRow).where(
                WebhookEndpointRow.account_id == row.account_id)) if kind in e.events]
        if row.callback_url:
            targets.append((None, row.callback_url))
        if not targets:
            return []
        body = _envelope(kind, self.payload(session, row), now)
        out = []
        for endpoint_id, url in targets:
            delivery = WebhookDeliveryRow(
                message_id="msg_" + uuid.uuid4().hex, account_id=row.account_id, endpoint_id=endpoint_id,
                url=url, event=kind, job_kind="training" if isinstance(row, TrainJobRow) else "inference",
                job_id=row.id, payload=body, state="pending", attempts=0, created_at=now,
                next_attempt_at=now)
            session.add(delivery)
            out.append(delivery)
        return out

    @staticmethod
    def forget(session: Session, *_args: Any) -> None:
        session.info.pop(_PENDING, None)


def install(sessions: sessionmaker[Session], payload: Payload,
            clock: Callable[[], datetime] = _utcnow) -> None:
    """Makes every session of `sessions` write outbox rows for the job events it commits."""
    writer = OutboxWriter(payload, clock)
    event.listen(sessions, "after_flush", writer.after_flush)
    event.listen(sessions, "after_commit", writer.forget)
    event.listen(sessions, "after_soft_rollback", writer.forget)
