"""The client commands end to end: `python -m imprint.cli.main` as a separate process against a real
server on loopback, with credentials from flags, the environment and the login profile; TTY-less
(plain lines), in a pseudo-terminal (a progress bar), with --json, and interrupted with Ctrl-C."""

from __future__ import annotations

import json
import os
import pty
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from api.apikit import Server, png_bytes
from PIL import Image

CLI = [sys.executable, "-m", "imprint.cli.main"]


def env_for(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ALIBABA_CLOUD_", "IMPRINT_"))}
    env.update({"IMPRINT_PROFILE": str(tmp_path / "profile.json"), "COLUMNS": "120"}, **extra)
    return env


def run(args: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(CLI + args, env=env, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def photos(tmp_path: Path, count: int = 2) -> list[str]:
    paths = []
    for i in range(count):
        path = tmp_path / f"rex{i}.png"
        path.write_bytes(png_bytes(i))
        paths.append(str(path))
    return paths


@pytest.mark.slow
def test_login_then_train_and_generate_without_a_terminal(server: Server, tmp_path: Path) -> None:
    env = env_for(tmp_path)
    login = run(["login", "--endpoint", f"http://{server.endpoint}", "--access-key-id", server.access_key_id,
                 "--access-key-secret", server.secret], env)
    assert login.returncode == 0, login.stderr
    profile = tmp_path / "profile.json"
    assert stat.S_IMODE(profile.stat().st_mode) == 0o600
    assert json.loads(profile.read_text())["access_key_id"] == server.access_key_id

    train = run(["train", *photos(tmp_path), "--object-type", "dog", "--name", "rex", "--steps", "3"], env)
    assert train.returncode == 0, train.stderr
    model_id = train.stdout.strip()
    assert model_id.startswith("dog_") and "\n" not in model_id
    lines = train.stderr.splitlines()
    assert "uploaded" in lines[0] and "(1/2)" in lines[0]
    # Plain lines, no bar and no terminal control sequences, ending at 100%.
    assert any(line == "training rex: FINISHED 100%" for line in lines), lines
    assert "\x1b" not in train.stderr and "━" not in train.stderr

    out_dir = tmp_path / "out"
    gen = run(["generate", model_id, "a <special-token> on the beach", "-n", "2", "--out", str(out_dir),
               "--seed", "7", "--json"], env)
    assert gen.returncode == 0, gen.stderr
    result = json.loads(gen.stdout)
    assert result["status"] == "FINISHED" and len(result["files"]) == 2
    for name in result["files"]:
        with Image.open(name) as image:
            assert image.format == "PNG"
    assert sorted(str(p) for p in out_dir.iterdir()) == sorted(result["files"])


@pytest.mark.slow
def test_environment_credentials_and_json_listings(server: Server, tmp_path: Path) -> None:
    env = env_for(tmp_path, ALIBABA_CLOUD_ACCESS_KEY_ID=server.access_key_id,
                  ALIBABA_CLOUD_ACCESS_KEY_SECRET=server.secret, IMPRINT_ENDPOINT=f"http://{server.endpoint}")
    train = run(["train", *photos(tmp_path), "--object-type", "dog", "--name", "envdog", "--steps", "2",
                 "--json"], env)
    assert train.returncode == 0, train.stderr
    trained = json.loads(train.stdout)
    assert trained["status"] == "FINISHED" and trained["progress"] == 1.0
    model_id = trained["modelId"]

    models = json.loads(run(["models", "list", "--json"], env).stdout)
    mine = [m for m in models if m["modelId"] == model_id]
    assert mine and mine[0]["name"] == "envdog" and mine[0]["status"] == "FINISHED"
    shown = json.loads(run(["models", "show", model_id, "--json"], env).stdout)
    assert shown["modelId"] == model_id and len(shown["imageUrl"]) == 2
    assert all(url.startswith("imprint://upload/") for url in shown["imageUrl"])

    gen = json.loads(run(["generate", model_id, "a <special-token>", "--out", str(tmp_path / "g"), "--json"],
                         env).stdout)
    jobs = json.loads(run(["jobs", "list", "--json"], env).stdout)
    kinds = {(j["id"], j["kind"]) for j in jobs}
    assert kinds >= {(model_id, "training"), (gen["inferenceJobId"], "inference")}
    job = json.loads(run(["jobs", "show", gen["inferenceJobId"], "--json"], env).stdout)
    assert job["status"] == "FINISHED" and len(job["resultImageUrl"]) == 1
    plain = run(["jobs", "show", model_id], env)
    assert plain.stdout.splitlines()[0] == f"{model_id}: FINISHED 100%"
    table = run(["models", "list"], env).stdout.splitlines()
    assert table[0].split("\t")[:4] == ["modelId", "name", "objectType", "status"]


def test_wrong_secret_shows_the_servers_error(server: Server, tmp_path: Path) -> None:
    result = run(["models", "list", "--endpoint", f"http://{server.endpoint}", "--access-key-id",
                  server.access_key_id, "--access-key-secret", "not-the-secret"], env_for(tmp_path))
    assert result.returncode == 1
    assert "SignatureDoesNotMatch" in result.stderr


def test_missing_credentials_say_what_to_do(tmp_path: Path) -> None:
    result = run(["models", "list"], env_for(tmp_path))
    assert result.returncode == 2
    assert "imprint login" in result.stderr and "ALIBABA_CLOUD_ACCESS_KEY_ID" in result.stderr


def test_refused_photo_names_the_file_and_why(server: Server, tmp_path: Path) -> None:
    bad = tmp_path / "notes.png"
    bad.write_text("<html>not a photo</html>")
    env = env_for(tmp_path, ALIBABA_CLOUD_ACCESS_KEY_ID=server.access_key_id,
                  ALIBABA_CLOUD_ACCESS_KEY_SECRET=server.secret, IMPRINT_ENDPOINT=f"http://{server.endpoint}")
    result = run(["train", str(bad), "--object-type", "dog", "--name", "x"], env)
    assert result.returncode == 1
    assert f"{bad} was refused" in result.stderr and "HTML" in result.stderr


@pytest.mark.slow
def test_progress_bar_on_a_terminal(server: Server, tmp_path: Path) -> None:
    env = env_for(tmp_path, ALIBABA_CLOUD_ACCESS_KEY_ID=server.access_key_id,
                  ALIBABA_CLOUD_ACCESS_KEY_SECRET=server.secret, IMPRINT_ENDPOINT=f"http://{server.endpoint}")
    main, child = pty.openpty()
    proc = subprocess.Popen(CLI + ["train", *photos(tmp_path), "--object-type", "dog", "--name", "tty",
                                   "--steps", "2"], env=env, stdin=child, stdout=child, stderr=child)
    os.close(child)
    output = b""
    while True:
        try:
            chunk = os.read(main, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        output += chunk
    assert proc.wait(60) == 0
    os.close(main)
    text = output.decode("utf-8", "replace")
    assert "━" in text and "100%" in text and "FINISHED" in text


@pytest.mark.slow
def test_ctrl_c_leaves_the_job_running_and_says_how_to_follow(server: Server, tmp_path: Path) -> None:
    env = env_for(tmp_path, ALIBABA_CLOUD_ACCESS_KEY_ID=server.access_key_id,
                  ALIBABA_CLOUD_ACCESS_KEY_SECRET=server.secret, IMPRINT_ENDPOINT=f"http://{server.endpoint}")
    proc = subprocess.Popen(CLI + ["train", *photos(tmp_path), "--object-type", "dog", "--name", "long",
                                   "--steps", "30"], env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    deadline = time.monotonic() + 60
    line = ""
    while "training job created" not in line:
        assert time.monotonic() < deadline
        line = proc.stderr.readline()
    model_id = line.rsplit(" ", 1)[1].strip()
    proc.send_signal(signal.SIGINT)
    proc.wait(30)
    # Read through the same reader as above: communicate() would miss what readline() has buffered.
    stderr = proc.stderr.read()
    assert proc.returncode == 130
    assert f"Follow it with: imprint jobs show {model_id} --follow" in stderr
    follow = run(["jobs", "show", model_id, "--follow", "--json"], env, timeout=240)
    assert json.loads(follow.stdout)["status"] == "FINISHED"


def test_help_separates_client_and_server_commands(tmp_path: Path) -> None:
    text = run(["--help"], env_for(tmp_path)).stdout
    order = [text.index(s) for s in ("Client", " train ", "Server administration", " serve ")]
    assert order == sorted(order)


@pytest.mark.slow
def test_export_controls_cancel_and_delete(server: Server, tmp_path: Path) -> None:
    env = env_for(tmp_path, ALIBABA_CLOUD_ACCESS_KEY_ID=server.access_key_id,
                  ALIBABA_CLOUD_ACCESS_KEY_SECRET=server.secret, IMPRINT_ENDPOINT=f"http://{server.endpoint}")
    trained = json.loads(run(["train", *photos(tmp_path), "--object-type", "dog", "--name", "ctl", "--steps",
                              "2", "--json"], env).stdout)
    model_id = trained["modelId"]

    exported = run(["models", "export", model_id, "--out", str(tmp_path), "--json"], env)
    assert exported.returncode == 0, exported.stderr
    file = Path(json.loads(exported.stdout)["file"])
    assert file == tmp_path / f"{model_id}.safetensors"
    from safetensors import safe_open

    with safe_open(str(file), "pt") as adapter:
        assert list(adapter.keys())

    gen = run(["generate", model_id, "a <special-token>", "--out", str(tmp_path / "c"), "--steps", "3",
               "--scheduler", "euler_a", "--negative-prompt", "blurry", "--json"], env)
    assert gen.returncode == 0, gen.stderr
    job = json.loads(run(["jobs", "show", json.loads(gen.stdout)["inferenceJobId"], "--json"], env).stdout)
    assert job["controls"]["scheduler"] == "euler_a" and job["controls"]["steps"] == 3
    bad = run(["generate", model_id, "a <special-token>", "--scheduler", "nope"], env)
    assert bad.returncode == 1 and "scheduler" in bad.stderr and "B_PARAMETER_INVALID_EXCEPTION" in bad.stderr

    long = json.loads(run(["train", *photos(tmp_path), "--object-type", "dog", "--name", "long", "--steps",
                           "500", "--no-wait", "--json"], env).stdout)
    for _ in range(2):  # cancelling twice is harmless
        cancelled = run(["jobs", "cancel", long["modelId"], "--json"], env)
        assert cancelled.returncode == 0, cancelled.stderr
        answer = json.loads(cancelled.stdout)
        assert (answer["jobStatus"], answer["failureReason"]) == ("TRAINING_TERMINATED", "cancelled")

    deleted = run(["models", "delete", model_id, "--yes", "--json"], env)
    assert deleted.returncode == 0, deleted.stderr
    assert json.loads(deleted.stdout)["deletedImages"] == 1
    gone = run(["models", "show", model_id], env)
    assert gone.returncode == 1 and "B_MODEL_TRAIN_JOB_NOT_EXIST" in gone.stderr
    refused = run(["models", "delete", long["modelId"]], env)  # no terminal to confirm on, no --yes
    assert refused.returncode != 0
    still = json.loads(run(["models", "show", long["modelId"], "--json"], env).stdout)
    assert still["modelId"] == long["modelId"]
