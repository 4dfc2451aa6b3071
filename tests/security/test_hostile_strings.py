"""Hostile strings: a lone UTF-16 surrogate is a 400 naming the field (never a 500, and nothing is
committed); credentials in image URLs are refused and never shown; and a job whose failure reason
cannot be stored still reaches a final status."""

from __future__ import annotations

import json

import pytest
from seckit import SecServer, Tenant

from imprint.api.urls import redacted
from imprint.runtime import utcnow
from imprint.service import training
from imprint.service.states import is_terminal
from imprint.store.rows import InferenceJobRow, TrainJobRow
from imprint.worker.failures import UNRECORDABLE_REASON, record_failure
from imprint.worker.train import run_train_job

LONE = "\ud800"
GOOD_URL = "https://photos.example/a.png"


def _counts(server: SecServer) -> tuple[int, int]:
    with server.sessions() as s:
        return s.query(TrainJobRow).count(), s.query(InferenceJobRow).count()


def _raw_json(body: dict[str, object]) -> bytes:
    return json.dumps(body).encode()  # json escapes the surrogate as \ud800: valid ASCII on the wire


def _cases(t: Tenant) -> list[tuple[str, dict[str, object], str]]:
    train = {"name": "n", "objectType": "dog", "imageUrl": [GOOD_URL]}
    return [
        ("addModelTrainJob", {**train, "name": f"a{LONE}b"}, "name"),
        ("addModelTrainJob", {**train, "imageUrl": [f"https://photos.example/{LONE}.png"]}, "imageUrl"),
        ("addModelTrainJob", {**train, "objectType": f"dog{LONE}"}, "objectType"),
        ("addInferenceJob", {"modelId": f"{t.model_id}{LONE}", "prompt": "a dog"}, "modelId"),
        ("addInferenceJob", {"modelId": t.model_id, "prompt": f"a {LONE} dog"}, "prompt"),
        ("addPreModelInferenceJob", {"imageUrl": [f"https://x.example/{LONE}"], "prompt": "dog"}, "imageUrl"),
        ("addPreModelInferenceJob", {"imageUrl": [GOOD_URL], "prompt": f"a dog {LONE}"}, "prompt"),
    ]


@pytest.mark.parametrize("case", range(7))
def test_a_lone_surrogate_is_a_400_naming_the_field(server: SecServer, alice: Tenant, case: int) -> None:
    op, body, field = _cases(alice)[case]
    before = _counts(server)
    resp = server.call(alice.root, op, raw=_raw_json(body))
    assert resp.status_code == 400, resp.text
    answer = resp.json()
    assert answer["Code"] == "B_PARAMETER_INVALID_EXCEPTION" and field in answer["Message"]
    assert "surrogate" in answer["Message"]
    assert _counts(server) == before  # nothing committed that the caller was not told about
    assert server.call(alice.root, "queryModelTrainJobList").status_code == 200


def test_credentials_in_an_image_url_are_refused(server: SecServer, alice: Tenant) -> None:
    before = _counts(server)
    body = {"name": "n", "objectType": "dog", "imageUrl": [GOOD_URL, "https://user:secret@photos.example/b.png"]}
    resp = server.call(alice.root, "addModelTrainJob", body=body)
    assert resp.status_code == 400 and "imageUrl" in resp.json()["Message"] and "secret" not in resp.text
    assert _counts(server) == before


def test_credentials_stored_before_the_refusal_are_masked(server: SecServer, alice: Tenant) -> None:
    with server.sessions.begin() as s:
        job = training.submit_train_job(s, account_id=alice.account_id, user_id=None, name="old",
                                        object_type="dog", image_urls=["https://u:pw@photos.example/c.png"],
                                        train_steps=1, now=utcnow())
    resp = server.call(alice.root, "queryModelTrainJobList")
    assert resp.status_code == 200 and "u:pw@" not in resp.text
    [listed] = [j for j in resp.json()["data"] if j["modelId"] == job.model_id]
    assert listed["imageUrl"] == ["https://***@photos.example/c.png"]
    assert redacted("https://photos.example/x.png") == "https://photos.example/x.png"


def test_a_job_with_a_surrogate_in_its_url_still_ends(server: SecServer, alice: Tenant) -> None:
    # Written below the API (as rows from before the 400 may be): the worker must still finish it.
    with server.sessions.begin() as s:
        job = training.submit_train_job(s, account_id=alice.account_id, user_id=None, name="hostile",
                                        object_type="dog", image_urls=[f"https://photos.example/{LONE}.png"],
                                        train_steps=1, now=utcnow())
    run_train_job(server.runtime.worker, job.id)
    with server.sessions() as s:
        row = s.get_one(TrainJobRow, job.id)
        assert is_terminal(row.status), row.status
        assert row.failure_reason
    assert server.call(alice.root, "queryModelTrainJobList").status_code == 200


def test_a_reason_that_cannot_be_stored_is_escaped_then_replaced() -> None:
    stored: list[str] = []

    def record(reason: str) -> None:
        reason.encode("utf-8")  # what the database driver does
        stored.append(reason)

    record_failure(record, job_id=1, reason=f"bad {LONE}")
    assert stored == ["bad \\ud800"]

    def refuses_everything_but_the_fixed_reason(reason: str) -> None:
        if reason != UNRECORDABLE_REASON:
            raise ValueError("cannot store")
        stored.append(reason)

    record_failure(refuses_everything_but_the_fixed_reason, job_id=1, reason="x")
    assert stored[-1] == UNRECORDABLE_REASON
