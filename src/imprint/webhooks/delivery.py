"""The delivery loop: sends due outbox rows, retries failures with exponential backoff.

It runs beside the job lanes in the serving process (in the embedded default and with Celery
workers alike, since workers only write the outbox). A row is claimed for `lease` before it is sent,
with a conditional update, so serving processes on several hosts never send one row at once; a
process that dies mid-send leaves the claim to expire and the row is sent again: delivery is
at-least-once, and receivers drop duplicates by the `webhook-id` header.

Retries: after a failure at time t the next attempt is at t + min(base x 2^(attempts-1), cap),
with up to 10% jitter; a row is given up (`failed`) only after a failure at least `retry_for` after
it was written, so each event is tried for at least that long (24 hours by default).
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from imprint.ingest.pinning import Resolver, system_resolver
from imprint.ingest.policy import FetchPolicy
from imprint.service import webhooks
from imprint.store.secret_box import SecretBox
from imprint.store.webhook_rows import WebhookDeliveryRow
from imprint.webhooks.sender import post, signed_headers

log = logging.getLogger(__name__)

ERROR_CHARS = 500


@dataclass(frozen=True)
class RetryPolicy:
    base_s: float = 5.0
    cap_s: float = 3600.0
    retry_for: timedelta = timedelta(hours=24)

    def delay(self, attempts: int) -> timedelta:
        seconds = min(self.base_s * 2 ** max(attempts - 1, 0), self.cap_s)
        return timedelta(seconds=seconds * (1 + random.uniform(0, 0.1)))


class DeliveryLoop:
    def __init__(self, sessions: sessionmaker[Session], box: SecretBox, policy: FetchPolicy,
                 clock: Callable[[], datetime], *, retry: RetryPolicy | None = None, poll_s: float = 1.0,
                 lease: timedelta = timedelta(minutes=2), batch: int = 20,
                 resolver: Resolver = system_resolver) -> None:
        self.sessions, self.box, self.policy, self.clock = sessions, box, policy, clock
        self.retry = retry or RetryPolicy()
        self.poll_s, self.lease, self.batch, self.resolver = poll_s, lease, batch, resolver
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="webhook deliveries", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                sent = self.run_once()
            except Exception:  # a database hiccup must not end deliveries for the process's life
                log.exception("webhook delivery pass failed")
                sent = 0
            if sent < self.batch:
                self._stop.wait(self.poll_s)

    def run_once(self) -> int:
        """Sends every due row this process could claim; returns how many were tried."""
        claimed = self._claim()
        for index, row_id in enumerate(claimed):
            if self._stop.is_set():  # shutting down: hand the rest back rather than hold them a lease
                self._release(claimed[index:])
                break
            self._send(row_id)
        return len(claimed)

    def _release(self, row_ids: list[int]) -> None:
        with self.sessions.begin() as session:
            session.execute(update(WebhookDeliveryRow).where(WebhookDeliveryRow.id.in_(row_ids))
                            .values(claimed_until=None))

    def _claim(self) -> list[int]:
        now = self.clock()
        free = or_(WebhookDeliveryRow.claimed_until.is_(None), WebhookDeliveryRow.claimed_until < now)
        with self.sessions.begin() as session:
            due = session.scalars(select(WebhookDeliveryRow.id).where(
                WebhookDeliveryRow.state == "pending", WebhookDeliveryRow.next_attempt_at <= now, free)
                .order_by(WebhookDeliveryRow.next_attempt_at).limit(self.batch)).all()
            claimed = []
            for row_id in due:
                taken = session.execute(update(WebhookDeliveryRow).where(
                    WebhookDeliveryRow.id == row_id, WebhookDeliveryRow.state == "pending", free)
                    .values(claimed_until=now + self.lease))
                if taken.rowcount == 1:  # type: ignore[attr-defined]
                    claimed.append(row_id)
        return claimed

    def _send(self, row_id: int) -> None:
        with self.sessions.begin() as session:
            row = session.get_one(WebhookDeliveryRow, row_id)
            url, body, message_id = row.url, row.payload, row.message_id
            try:
                if row.endpoint_id is None:
                    secret = webhooks.callback_secret(session, box=self.box, account_id=row.account_id,
                                                      now=self.clock())
                else:
                    secret = webhooks.endpoint_secret(session, box=self.box, endpoint_id=row.endpoint_id)
            except Exception as exc:  # the endpoint or account was removed since
                row.state, row.last_error, row.claimed_until = "failed", str(exc)[:ERROR_CHARS], None
                return
        status: int | None = None
        error: str | None = None
        try:
            status = post(url, body, signed_headers(secret, message_id, body), self.policy,
                          resolver=self.resolver)
            if not 200 <= status < 300:
                error = f"HTTP {status}"
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
        self._record(row_id, status, error)

    def _record(self, row_id: int, status: int | None, error: str | None) -> None:
        now = self.clock()
        with self.sessions.begin() as session:
            row = session.get_one(WebhookDeliveryRow, row_id)
            row.attempts += 1
            row.last_attempt_at, row.last_status, row.claimed_until = now, status, None
            if error is None:
                row.state, row.delivered_at, row.last_error = "delivered", now, None
                return
            row.last_error = error[:ERROR_CHARS]
            if now - row.created_at >= self.retry.retry_for:
                row.state = "failed"
                log.warning("webhook %s to %s given up after %d attempts: %s", row.message_id, row.url,
                            row.attempts, error)
            else:
                row.next_attempt_at = now + self.retry.delay(row.attempts)
