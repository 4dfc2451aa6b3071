"""Cancel and delete, scaled out: the API process on loopback, `imprint worker` (Celery through Redis)
in another process, PostgreSQL, and S3 (a moto server). The worker sees the cancel in the database
and stops at its next step; a delete leaves nothing of the model in the bucket."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from apikit import wait_for
from generic import call_new
from test_scaled_flow import scaled_out

from imprint.worker.cache_prune import prune_download_cache

pytestmark = [pytest.mark.scale, pytest.mark.slow]


def _status(d, model_id: str) -> dict:  # type: ignore[no-untyped-def]
    return call_new(
        d.server,
        "Personalizedtxt2imgQueryModelTrainStatus",
        "queryModelTrainStatus",
        method="GET",
        query={"modelId": model_id},
    )["body"]["data"]


def _train(d, steps: int) -> str:  # type: ignore[no-untyped-def]
    return call_new(
        d.server,
        "Personalizedtxt2imgAddModelTrainJob",
        "addModelTrainJob",
        body={"name": "dog", "objectType": "dog", "imageUrl": d.image_urls, "trainSteps": steps},
    )["body"]["data"]["modelId"]


def test_cancel_and_delete_through_a_celery_worker_and_s3(
    tmp_path: Path, base_model: Path, pg_url: str, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with scaled_out(tmp_path, base_model, pg_url, redis_url, monkeypatch) as d:
        if d.s3 is None:
            pytest.skip("moto is not installed")
        worker = d.worker()
        try:
            worker.wait_for_output("ready.")
            long = _train(d, 5000)  # far longer than the test
            deadline = time.monotonic() + 300  # a busy CI machine loads the engine slowly
            while _status(d, long)["jobTrainProgress"] <= 0.0:
                assert time.monotonic() < deadline, worker.output()[-4000:]
                time.sleep(0.1)
            cancelled = call_new(
                d.server,
                "Personalizedtxt2imgCancelModelTrainJob",
                "cancelModelTrainJob",
                body={"modelId": long},
            )["body"]["data"]
            assert (cancelled["jobStatus"], cancelled["failureReason"]) == (
                "TRAINING_TERMINATED",
                "cancelled",
            )
            # The worker (one job at a time) is free for the next training within moments.
            quick = _train(d, 2)
            done = wait_for(lambda: _status(d, quick), lambda s: s["modelTrainStatus"], timeout=120)
            assert done["modelTrainStatus"] == "FINISHED", worker.output()[-4000:]
            assert _status(d, long)["modelTrainStatus"] == "TRAINING_TERMINATED"
            job = call_new(
                d.server,
                "Personalizedtxt2imgAddInferenceJob",
                "addInferenceJob",
                body={"modelId": quick, "prompt": "a <special-token> dog", "imageNumber": 2},
            )["body"]["data"]
            wait_for(
                lambda: call_new(
                    d.server,
                    "Personalizedtxt2imgQueryInferenceJobInfo",
                    "queryInferenceJobInfo",
                    method="GET",
                    query={"inferenceJobId": job["id"]},
                )["body"]["data"],
                lambda j: j["jobStatus"],
                timeout=120,
            )
        finally:
            assert worker.stop(timeout=60) == 0, worker.output()[-4000:]
        s3 = d.s3.client()

        def keys() -> set[str]:
            return {o["Key"] for o in s3.list_objects_v2(Bucket=d.s3.bucket).get("Contents", [])}

        mine = {k for k in keys() if quick in k or job["promptId"] in k}
        assert len(mine) == 3, keys()  # the adapter and two images
        assert not [k for k in keys() if "/photos/" in k and quick in k]  # photos went after training
        call_new(d.server, "Personalizedtxt2imgDeleteModel", "deleteModel", body={"modelId": quick})
        call_new(d.server, "Personalizedtxt2imgDeleteModel", "deleteModel", body={"modelId": long})
        assert not [k for k in keys() if quick in k or long in k or job["promptId"] in k], keys()
        # The worker's host kept a download of the adapter it generated with; its pruner (every minute
        # in `imprint worker`) removes copies of what no model has any more.
        cache = tmp_path / "worker" / "blob-cache"
        assert [p for p in cache.rglob("*") if p.is_file()]
        assert prune_download_cache(cache, d.server.runtime.services.sessions) == 1
        assert not [p for p in cache.rglob("*") if p.is_file()]
