"""`imprint serve --workers N`: API worker processes share the nonce store, hand their jobs to the one
job process, and nonces outlive a restart."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from seckit import OPS, PREFIX, Key, Tenant, free_port, settings, sign, start

from imprint.server.relay import JobRelay, RelayQueue
from imprint.server.run import worker_app

pytestmark = pytest.mark.slow


class Serve:
    def __init__(self, data_dir: Path, workers: int) -> None:
        self.port = free_port()
        self.endpoint = f"127.0.0.1:{self.port}"
        # serve checks the base model's family (model_index.json) before starting; these API-only
        # processes never load its weights.
        model = data_dir / "no-model"
        model.mkdir(parents=True, exist_ok=True)
        (model / "model_index.json").write_text('{"_class_name": "StableDiffusionPipeline"}')
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "imprint.cli.main", "serve", "--data-dir", str(data_dir), "--port",
             str(self.port), "--base-model", str(data_dir / "no-model"), "--workers", str(workers),
             "--rate-limit-per-s", "0"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def request(self, target: str, headers: dict[str, str], method: str = "GET",
                body: bytes = b"") -> httpx.Response:
        # A new connection per request, so that requests spread over the workers.
        with httpx.Client(timeout=30) as client:
            return client.request(method, f"http://{self.endpoint}{target}", headers=headers, content=body)

    def call(self, key: Key, op: str, query: dict[str, str] | None = None,
             body: object = None) -> httpx.Response:
        action, _, method = OPS[op]
        data = b"" if body is None else json.dumps(body).encode()
        target, headers = sign(method, PREFIX + op, query or {}, data, action=action, host=self.endpoint,
                               key=key, content_type="application/json" if data else None)
        return self.request(target, headers, method, data)

    def wait_ready(self, key: Key, query: dict[str, str]) -> None:
        deadline = time.monotonic() + 90
        while True:
            assert self.proc.poll() is None, "imprint serve exited"
            try:
                if self.call(key, "queryImageAsset", query).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "imprint serve did not come up"
            time.sleep(0.3)

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(60)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Tenant]:
    data_dir = tmp_path_factory.mktemp("serve-data")
    srv = start(settings(data_dir))
    try:
        tenant = srv.seed(srv.account("carol"), ["https://photos.example/c.png"])
    finally:
        srv.stop()
    return data_dir, tenant


@pytest.fixture(scope="module")
def served(seeded: tuple[Path, Tenant]) -> Iterator[tuple[Serve, Tenant]]:
    data_dir, tenant = seeded
    serve = Serve(data_dir, workers=2)
    try:
        serve.wait_ready(tenant.root, query(tenant))
        yield serve, tenant
    finally:
        if serve.proc.poll() is None:
            serve.stop()


def query(t: Tenant) -> dict[str, str]:
    return {"modelId": t.model_id, "promptId": t.prompt_id, "imageId": t.image_ids[0]}


def test_a_request_replayed_at_every_worker_at_once_is_served_once(served: tuple[Serve, Tenant]) -> None:
    serve, tenant = served
    action, _, method = OPS["queryImageAsset"]
    target, headers = sign(method, PREFIX + "queryImageAsset", query(tenant), b"", action=action,
                           host=serve.endpoint, key=tenant.root)
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: serve.request(target, headers), range(8)))
    assert sorted(a.status_code for a in answers) == [200] + [400] * 7
    assert {a.json()["Code"] for a in answers if a.status_code == 400} == {"SignatureNonceUsed"}


def test_a_job_submitted_to_a_worker_is_run_by_the_job_process(served: tuple[Serve, Tenant]) -> None:
    serve, tenant = served
    # A loopback URL is refused by the fetcher at once, so the job fails fast once something runs it;
    # the API workers run no jobs, so it can only be the job process.
    submitted = serve.call(tenant.root, "addModelTrainJob",
                           body={"name": "m", "objectType": "dog", "imageUrl": ["http://127.0.0.1:9/a.png"]})
    assert submitted.status_code == 200, submitted.text
    model_id = submitted.json()["data"]["modelId"]
    deadline = time.monotonic() + 60
    while True:
        status = serve.call(tenant.root, "queryModelTrainStatus", {"modelId": model_id}).json()
        if status["data"]["modelTrainStatus"] == "WRONG_IMAGE_URL":
            break
        assert time.monotonic() < deadline, status
        time.sleep(0.3)


def test_nonces_outlive_a_restart(served: tuple[Serve, Tenant], seeded: tuple[Path, Tenant]) -> None:
    serve, tenant = served
    action, _, method = OPS["queryImageAsset"]
    target, headers = sign(method, PREFIX + "queryImageAsset", query(tenant), b"", action=action,
                           host=serve.endpoint, key=tenant.root)
    assert serve.request(target, headers).status_code == 200
    assert serve.stop() == 0
    again = Serve(seeded[0], workers=1)
    try:
        again.wait_ready(tenant.root, query(tenant))
        replay = again.request(target, headers)  # the captured request, its signed Host header included
        assert replay.status_code == 400 and replay.json()["Code"] == "SignatureNonceUsed"
    finally:
        assert again.stop() == 0


def test_worker_processes_hand_their_jobs_over(tmp_path: Path) -> None:
    class Recorder:
        items: list[tuple[str, int]] = []

        def enqueue(self, kind: str, job_id: int) -> None:
            self.items.append((kind, job_id))

    relay = JobRelay(Recorder())  # type: ignore[arg-type]
    relay.start()
    try:
        app = worker_app(settings(tmp_path), relay.address, relay.authkey)
        services = app.state.services
        assert isinstance(services.queue, RelayQueue)
        services.queue.enqueue("infer", 3)
        deadline = time.monotonic() + 10
        while not Recorder.items:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert Recorder.items == [("infer", 3)]
    finally:
        relay.close()


def test_several_workers_refuse_a_process_local_nonce_store(tmp_path: Path) -> None:
    from imprint.runtime import build_runtime
    from imprint.server import run_server

    runtime = build_runtime(settings(tmp_path, nonce_store_url="memory:"))
    try:
        with pytest.raises(ValueError, match="shared nonce store"):
            run_server(runtime, host="127.0.0.1", port=free_port(), workers=2)
    finally:
        runtime.stop(timeout=5)
