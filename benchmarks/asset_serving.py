"""Signed queryImageAsset throughput and latency vs nginx serving the same PNG unsigned.

Set-up (Debian): apt-get install -y nginx-light wrk. Run: .venv/bin/python benchmarks/asset_serving.py
Every imprint request is pre-signed (V3, ACS3-HMAC-SHA256) with its own nonce, so the server does the
full verification and replay check each time; wrk replays them from a Lua script. nginx runs one
worker; imprint runs as `imprint serve` does by default (one API worker process per CPU, nonces in
the shared SQLite store), or with --workers N. Both on loopback, measured in the same run at 1, 16
and 64 connections. Prints requests/s, p50/p99, the imprint/nginx throughput ratio, and the CPU
time imprint's processes spent per answered request (read from /proc around each imprint run).

nginx is measured twice. "same client": wrk replays the very same signed request lines through the
same Lua script (nginx maps the API path to the PNG and ignores the signature headers), so both
servers share the two CPUs with an identical load generator and the ratio compares servers only.
"plain": wrk's built-in single request with no script, the cheapest client wrk has; on a 2-CPU
machine that client takes far less CPU per request than the replay script, which inflates nginx's
share of the machine, so this ratio mixes the client's cost into the servers'.

Enough requests are pre-signed for --max-rps over the whole run; should imprint go faster, wrk would
start replaying nonces and the non-2xx count printed beside the row says so.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from signing_kit import sign_v3  # noqa: E402

from imprint.config import Settings  # noqa: E402
from imprint.runtime import build_runtime  # noqa: E402
from imprint.service import inference, runs, training  # noqa: E402
from imprint.service.runs import GeneratedImage  # noqa: E402
from imprint.store.rows import TrainJobRow  # noqa: E402
from imprint.world.render import render  # noqa: E402
from imprint.world.subject import Subject  # noqa: E402

PATH = "/api/v1/personalizedtxt2img/queryImageAsset"
ACTION = "Personalizedtxt2imgQueryImageAsset"

# Each wrk thread takes every n-th line, so no two threads ever send the same nonce.
LUA = """
local threads, counter = {}, 0
setup = function(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end
local reqs = {}
init = function(args)
  local n, k = tonumber(args[2]), 0
  for line in io.lines(args[1]) do
    if k % n == id then
      local target, headers = line:match("^([^\\t]*)\\t(.*)$")
      local h = {}
      for key, v in headers:gmatch("([^\\t=]+)=([^\\t]*)") do h[key] = v end
      reqs[#reqs + 1] = wrk.format("GET", target, h)
    end
    k = k + 1
  end
  i = 0
end
request = function()
  i = i + 1
  if i > #reqs then i = 1 end
  return reqs[i]
end
"""


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


def wait_ready(host: str, akid: str, secret: str, query: dict[str, str], timeout: float = 60) -> None:
    """The port is bound by the supervisor before the API workers are up; wait for a real answer."""
    deadline = time.monotonic() + timeout
    while True:
        target, headers = sign_v3(
            "GET", PATH, query, b"", action=ACTION, host=host, access_key_id=akid, secret=secret
        )
        request = urllib.request.Request(f"http://{host}{target}", headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("imprint did not answer a signed request")
        time.sleep(0.2)


def seed_data(data_dir: Path) -> tuple[str, str, dict[str, str], bytes]:
    """An account, a key and one finished image, written through the service layer."""
    runtime = build_runtime(Settings(data_dir=data_dir, base_model=str(data_dir / "unused")))
    key = runtime.first_key
    assert key is not None
    buf = io.BytesIO()
    render(Subject("dog", "brown", "spotted", "scarf", "red"), "beach", seed=1).save(buf, format="PNG")
    png = buf.getvalue()
    with runtime.services.sessions.begin() as session:
        model = training.submit_train_job(
            session,
            account_id=key.account_id,
            user_id=None,
            name="bench",
            object_type="dog",
            image_urls=[],
            train_steps=1,
            now=now(),
        )
        session.get_one(TrainJobRow, model.id).status = "FINISHED"
        job = inference.submit_inference_job(
            session,
            account_id=key.account_id,
            user_id=None,
            model_id=model.model_id,
            prompt="a",
            image_number=1,
            seed=1,
            queue_limit=10,
            now=now(),
        )
        runs.begin_inference(session, job_id=job.id, now=now())
        blob = runtime.services.blobs.put_bytes(f"images/{key.account_id}/{job.prompt_id}/0000.png", png)
        runs.finish_inference(
            session, job_id=job.id, images=[GeneratedImage("0000.png", blob, 64, 64)], now=now()
        )
    runtime.engine.dispose()
    query = {"modelId": model.model_id, "promptId": job.prompt_id, "imageId": "0000.png"}
    return key.access_key_id, key.secret, query, png


def presign(path: Path, count: int, host: str, akid: str, secret: str, query: dict[str, str]) -> None:
    with path.open("w") as f:
        for _ in range(count):
            target, headers = sign_v3(
                "GET", PATH, query, b"", action=ACTION, host=host, access_key_id=akid, secret=secret
            )
            f.write(target + "\t" + "\t".join(f"{k}={v}" for k, v in headers.items() if k != "host") + "\n")


def wrk(
    url: str, connections: int, seconds: int, script: Path | None = None, requests_file: Path | None = None
) -> dict[str, float]:
    threads = min(connections, 2)
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    if script is not None:
        cmd[1:1] = ["-s", str(script)]
        cmd += ["--", str(requests_file), str(threads)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": rps,
        "p50": _ms(out, "50%"),
        "p99": _ms(out, "99%"),
        "errors": float(non2xx.group(1)) if non2xx else 0.0,
    }


def server_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) of a process and its children so far, from /proc (Linux)."""
    total = 0.0
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    for p in [pid, *map(int, children)]:
        fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _ms(out: str, pct: str) -> float:
    value, unit = re.search(rf"{pct}\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", default="1,16,64")
    parser.add_argument("--workers", type=int, default=None, help="imprint API workers (default: serve's)")
    parser.add_argument("--max-rps", type=int, default=20000, help="pre-signed requests per second of run")
    args = parser.parse_args()
    missing = [tool for tool in ("nginx", "wrk") if shutil.which(tool) is None]
    if missing:
        sys.exit(f"needs {' and '.join(missing)}: apt-get install -y nginx-light wrk")
    work = Path(tempfile.mkdtemp(prefix="imprint-bench-"))
    akid, secret, query, png = seed_data(work / "data")
    # nginx started by root serves as an unprivileged user, which mkdtemp's 0700 folder shuts out:
    # every nginx response would be a small 403, measured as if it were the image.
    work.chmod(0o711)
    (work / "www").mkdir(mode=0o755)
    (work / "www" / "0000.png").write_bytes(png)
    (work / "www" / "0000.png").chmod(0o644)
    ngx_port, imp_port = free_port(), free_port()
    (work / "nginx.conf").write_text(f"""
worker_processes 1; daemon off; pid {work}/nginx.pid; error_log {work}/nginx-error.log;
events {{ worker_connections 1024; }}
http {{ access_log off; server {{ listen 127.0.0.1:{ngx_port}; root {work}/www;
  location = {PATH} {{ default_type image/png; try_files /0000.png =404; }}
  location / {{ default_type image/png; }} }} }}
""")
    (work / "replay.lua").write_text(LUA)
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    procs = [
        subprocess.Popen(["nginx", "-c", str(work / "nginx.conf"), "-p", str(work)]),
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "imprint.cli.main",
                "serve",
                "--data-dir",
                str(work / "data"),
                "--port",
                str(imp_port),
                "--base-model",
                str(work / "unused"),
                # One key replays thousands of requests a second; the per-key limiter would throttle it.
                "--rate-limit-per-s",
                "0",
                *(["--workers", str(args.workers)] if args.workers else []),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        ),
    ]
    try:
        wait_port(ngx_port)
        wait_port(imp_port)
        host = f"127.0.0.1:{imp_port}"
        wait_ready(host, akid, secret, query)
        print(f"imprint workers: {args.workers or 'serve default'} on {os.cpu_count()} CPUs; nginx: 1 worker")
        print(f"{'':>5} {'imprint':>29} | {'nginx, same client':>35} | {'nginx, plain wrk':>35}")
        columns = f" {'rps':>8} {'p50 ms':>9} {'p99 ms':>9}"
        print(f"{'conns':>5}{columns} |" + 2 * f"{columns} {'ratio':>6} |" + " cpu us/req (imprint)")
        for conns in [int(c) for c in args.connections.split(",")]:
            requests_file = work / f"signed-{conns}.tsv"
            presign(requests_file, args.max_rps * args.seconds, host, akid, secret, query)
            replay = (work / "replay.lua", requests_file)
            cpu_before = server_cpu_s(procs[1].pid)
            imp = wrk(f"http://{host}", conns, args.seconds, *replay)
            # The server's own CPU per answered request: unlike rps, barely moved by other load on a
            # shared machine, so it compares code versions across noisy runs.
            cpu_us = (server_cpu_s(procs[1].pid) - cpu_before) / (imp["rps"] * args.seconds) * 1e6
            same = wrk(f"http://127.0.0.1:{ngx_port}", conns, args.seconds, *replay)
            requests_file.unlink()  # tens of MB per level
            plain = wrk(f"http://127.0.0.1:{ngx_port}/0000.png", conns, args.seconds)
            line = f"{conns:>5} {imp['rps']:>8.0f} {imp['p50']:>9.2f} {imp['p99']:>9.2f} |"
            for ngx in (same, plain):
                ratio = imp["rps"] / ngx["rps"]
                line += f" {ngx['rps']:>8.0f} {ngx['p50']:>9.2f} {ngx['p99']:>9.2f} {ratio:>6.3f} |"
            errors = {"imprint": imp["errors"], "nginx": same["errors"] + plain["errors"]}
            line += f" {cpu_us:>6.0f}"
            print(line + "".join(f"  ({n:.0f} non-2xx from {who}!)" for who, n in errors.items() if n))
    finally:
        for p in procs:
            p.terminate()
            p.wait(10)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
