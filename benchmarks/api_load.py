"""64 signed clients mixing the read operations, idle and while a training runs: requests/s, p50/p99
and errors, and the ratio of the two runs.

Run: .venv/bin/python benchmarks/api_load.py [--seconds 30] [--clients 64]
`imprint serve` runs as it does by default (bundled base model, one API worker per CPU, nonces in
the SQLite store) on a fresh data directory seeded with one account, one finished model with an
inference job and its image. wrk (apt-get install -y wrk) keeps --clients connections busy with
queryModelTrainJobList, queryModelTrainStatus, queryInferenceJobInfo and queryImageAsset in turn,
each pre-signed (V3) with its own nonce; enough are signed for --max-rps over a run (past that wrk
would replay nonces, and the errors column says so). A Python client was tried first: on two CPUs
it, not the server, was the limit. The load runs twice for --seconds each:
first with nothing else happening (the baseline), then while a training job submitted through the
API runs in the same serve (its images come from a local HTTP server). Clients and server share
the machine's CPUs, so the figures mean most on a quiet machine; the second row's ratio to the first
says what a running training costs the API.
"""

from __future__ import annotations

import argparse
import http.server
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests"))

from asset_serving import LUA, free_port, seed_data, wait_port, wait_ready, wrk  # noqa: E402
from signing_kit import sign_v3  # noqa: E402

from imprint.world.render import render  # noqa: E402
from imprint.world.subject import Subject  # noqa: E402

PREFIX = "/api/v1/personalizedtxt2img/"
ACTIONS = {
    "queryModelTrainJobList": "Personalizedtxt2imgQueryModelTrainJobList",
    "queryModelTrainStatus": "Personalizedtxt2imgQueryModelTrainStatus",
    "queryInferenceJobInfo": "Personalizedtxt2imgQueryInferenceJobInfo",
    "queryImageAsset": "Personalizedtxt2imgQueryImageAsset",
    "addModelTrainJob": "Personalizedtxt2imgAddModelTrainJob",
}


class Load:
    """Pre-signed requests (each its own nonce) mixing the operations, replayed by wrk."""

    def __init__(self, host: str, akid: str, secret: str, queries: dict[str, dict[str, str]],
                 work: Path) -> None:
        self.host, self.akid, self.secret, self.queries, self.work = host, akid, secret, queries, work
        (work / "replay.lua").write_text(LUA)

    def signed(self, op: str, body: bytes = b"") -> tuple[str, dict[str, str]]:
        method = "POST" if body else "GET"
        return sign_v3(method, PREFIX + op, self.queries.get(op, {}), body, action=ACTIONS[op],
                       host=self.host, access_key_id=self.akid, secret=self.secret,
                       content_type="application/json" if body else None)

    def run(self, clients: int, seconds: int, max_rps: int) -> dict[str, float]:
        requests_file = self.work / "signed.tsv"
        ops = list(self.queries)
        with requests_file.open("w") as f:
            for i in range(max_rps * seconds):
                target, headers = self.signed(ops[i % len(ops)])
                fields = "\t".join(f"{k}={v}" for k, v in headers.items() if k != "host")
                f.write(f"{target}\t{fields}\n")
        try:
            return wrk(f"http://{self.host}", clients, seconds, self.work / "replay.lua", requests_file)
        finally:
            requests_file.unlink()


def serve_images(folder: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a: object, **kw: object) -> None:
            super().__init__(*a, directory=str(folder), **kw)  # type: ignore[arg-type]

        def log_message(self, *a: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def training_state(load: Load, model_id: str) -> tuple[str, float]:
    load.queries["queryModelTrainStatus"] = {"modelId": model_id}
    target, headers = load.signed("queryModelTrainStatus")
    data = httpx.get(f"http://{load.host}{target}", headers=headers).json()["data"]
    return str(data["modelTrainStatus"]), float(data["jobTrainProgress"])


def training_status(load: Load, model_id: str) -> str:
    return training_state(load, model_id)[0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--max-rps", type=int, default=5000, help="pre-signed requests per second of run")
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--train-steps", type=int, default=5000)
    parser.add_argument("--ops", default="queryModelTrainJobList,queryModelTrainStatus,queryInferenceJobInfo,"
                        "queryImageAsset", help="the operations each client sends in turn")
    parser.add_argument("--idle-only", action="store_true", help="skip the run while training")
    parser.add_argument("--job-niceness", type=int, default=None,
                        help="serve's --job-niceness (default: serve's own default)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="imprint-load-"))
    data = work / "data"
    akid, secret, image_query, _ = seed_data(data)
    images = work / "images"
    images.mkdir()
    for i, scene in enumerate(("beach", "forest", "city", "snow")):
        buf = io.BytesIO()
        render(Subject("dog", "brown", "spotted", "scarf", "red"), scene, seed=i).save(buf, format="PNG")
        (images / f"dog{i}.png").write_bytes(buf.getvalue())
    image_server, image_base = serve_images(images)
    port = free_port()
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "imprint.cli.main", "serve", "--data-dir", str(data), "--port", str(port),
         "--rate-limit-per-s", "0", "--allow-fetch-from", "127.0.0.0/8",
         *(["--job-niceness", str(args.job_niceness)] if args.job_niceness is not None else [])],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        host = f"127.0.0.1:{port}"
        wait_port(port)
        wait_ready(host, akid, secret, image_query)
        model_id = image_query["modelId"]
        with httpx.Client() as c:  # the seeded inference job's id, for queryInferenceJobInfo
            load = Load(host, akid, secret, {}, work)
            load.queries["queryModelTrainJobList"] = {}
            target, headers = load.signed("queryModelTrainJobList")
            listed = c.get(f"http://{host}{target}", headers=headers).json()["data"]
            job_id = listed[0]["inferenceJobList"][0]["id"]
        every = {"queryModelTrainJobList": {}, "queryModelTrainStatus": {"modelId": model_id},
                 "queryInferenceJobInfo": {"inferenceJobId": str(job_id)}, "queryImageAsset": image_query}
        load.queries = {op: every[op] for op in args.ops.split(",")}
        print(f"{args.clients} connections (wrk), {args.seconds} s each run, on {os.cpu_count()} CPUs "
              f"(serve's default workers); errors: non-2xx answers")
        print(f"{'run':<18} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'ratio':>6}")
        idle = load.run(args.clients, args.seconds, args.max_rps)
        print(f"{'idle':<18} {idle['rps']:>8.0f} {idle['p50']:>8.1f} {idle['p99']:>8.1f} "
              f"{idle['errors']:>7.0f} {1.0:>6.3f}")
        if args.idle_only:
            return
        body = json.dumps({"name": "load", "objectType": "dog", "trainSteps": args.train_steps,
                           "imageUrl": [f"{image_base}/dog{i}.png" for i in range(4)]}).encode()
        target, headers = load.signed("addModelTrainJob", body)
        submitted = httpx.post(f"http://{host}{target}", headers=headers, content=body).json()
        training = submitted["data"]["modelId"]
        deadline = time.monotonic() + 120
        while training_status(load, training) != "TRAINING":
            if time.monotonic() > deadline:
                sys.exit("the training did not start")
            time.sleep(0.5)
        if "queryModelTrainStatus" in load.queries:
            load.queries["queryModelTrainStatus"] = {"modelId": model_id}
        else:
            del load.queries["queryModelTrainStatus"]
        _, progress_before = training_state(load, training)
        busy = load.run(args.clients, args.seconds, args.max_rps)
        still, progress_after = training_state(load, training)
        print(f"{'while training':<18} {busy['rps']:>8.0f} {busy['p50']:>8.1f} {busy['p99']:>8.1f} "
              f"{busy['errors']:>7.0f} {busy['rps'] / idle['rps']:>6.3f}")
        print(f"(the training was {still} when the second run ended; it advanced "
              f"{100 * (progress_after - progress_before):.1f}% of its {args.train_steps} steps "
              "during the run)")
    finally:
        proc.terminate()
        proc.wait(30)
        image_server.shutdown()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
