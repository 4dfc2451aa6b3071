"""The outbox: rows written in the transaction that changes a job's status (and only if it commits),
and the retry schedule: exponential backoff, given up only once an event is at least 24 hours old."""

from __future__ import annotations

from datetime import datetime, timedelta
from ipaddress import ip_network
from pathlib import Path

from apikit import free_port
from sqlalchemy import select

from imprint.config import Settings
from imprint.ingest import FetchPolicy
from imprint.service import keys, runs, training, webhooks
from imprint.service.states import Status
from imprint.store.webhook_rows import WebhookDeliveryRow
from imprint.webhooks.delivery import DeliveryLoop, RetryPolicy
from imprint.worker.assemble import open_database

T0 = datetime(2026, 1, 1, 12, 0, 0)


def _setup(tmp_path: Path):  # type: ignore[no-untyped-def]
    from imprint.store.secret_box import load_server_key

    engine, sessions = open_database(Settings(data_dir=tmp_path))
    box = load_server_key(tmp_path)
    with sessions.begin() as session:
        account = keys.bootstrap(session, box=box, now=T0).account_id  # type: ignore[union-attr]
        webhooks.add_endpoint(session, box=box, account_id=account, url=f"http://127.0.0.1:{free_port()}/h",
                              events=None, now=T0)
        job = training.submit_train_job(session, account_id=account, user_id=None, name="n",
                                        object_type="cat", image_urls=["http://example.com/a.png"],
                                        train_steps=1, now=T0)
    return engine, sessions, box, job.id


def test_outbox_rows_commit_with_the_status_change_or_not_at_all(tmp_path: Path) -> None:
    engine, sessions, _, job_id = _setup(tmp_path)
    session = sessions()
    runs.begin_training(session, job_id=job_id, now=T0)
    session.flush()
    assert len(session.scalars(select(WebhookDeliveryRow)).all()) == 1  # written, not yet committed
    session.rollback()
    session.close()
    with sessions() as session:
        assert session.scalars(select(WebhookDeliveryRow)).all() == []
    with sessions.begin() as session:
        runs.begin_training(session, job_id=job_id, now=T0)
    with sessions.begin() as session:
        runs.fail_training(session, job_id=job_id, status=Status.TRAINING_TERMINATED, reason="cancelled",
                           now=T0)
    with sessions() as session:
        rows = session.scalars(select(WebhookDeliveryRow).order_by(WebhookDeliveryRow.id)).all()
        assert [r.event for r in rows] == ["training.started", "training.failed"]
        assert '"failureReason":"cancelled"' in rows[1].payload
    engine.dispose()


def test_retries_back_off_and_give_up_only_after_24_hours(tmp_path: Path) -> None:
    engine, sessions, box, job_id = _setup(tmp_path)
    with sessions.begin() as session:
        runs.begin_training(session, job_id=job_id, now=T0)
        session.flush()
        session.execute(WebhookDeliveryRow.__table__.update().values(created_at=T0, next_attempt_at=T0))
    now = [T0]
    loop = DeliveryLoop(sessions, box, FetchPolicy(allow_networks=(ip_network("127.0.0.0/8"),),
                                                   connect_timeout_s=1, total_timeout_s=2),
                        lambda: now[0], retry=RetryPolicy(base_s=60, cap_s=3600))

    def row() -> WebhookDeliveryRow:
        with sessions() as session:
            return session.scalars(select(WebhookDeliveryRow)).one()

    gaps = []
    while row().state == "pending":
        now[0] = row().next_attempt_at
        assert loop.run_once() == 1
        if row().state == "pending":
            gaps.append((row().next_attempt_at - now[0]).total_seconds())
    final = row()
    assert final.state == "failed" and "ConnectError" in (final.last_error or "")
    assert final.last_attempt_at is not None and final.last_attempt_at - T0 >= timedelta(hours=24)
    # 60 s doubling (with up to 10 % jitter) up to the one-hour cap.
    assert 60 <= gaps[0] <= 66 and 120 <= gaps[1] <= 132 and 240 <= gaps[2] <= 264
    assert max(gaps) <= 3600 * 1.1 and gaps[-1] >= 3600
    engine.dispose()
