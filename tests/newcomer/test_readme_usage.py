"""A newcomer's first hour, scripted: a fresh clone, the README's first command (`imprint serve`) in the
background, the usage section's commands and its program exactly as printed, and pictures at the end.

The install half of the README's first command (`python3 -m venv .venv && .venv/bin/pip install ...`)
is not repeated: it takes minutes and needs a package index, so the venv running these tests stands in
for the clone's `.venv`, with the clone's `src/` first on PYTHONPATH so that the clone's code is what
runs. Everything after `.venv/bin/` is run as the README prints it. The program trains TRAIN_STEPS=10
steps (its one knob) instead of the default 300 to keep the test short.
"""

from __future__ import annotations

import io
import os
import re
import shlex
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


def _blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.S)


def _section(text: str, heading: str) -> str:
    start = text.index(f"\n## {heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end != -1 else None]


def _as_run_here(command: str) -> list[str]:
    """A README command line, its `.venv/bin/` pointing at the venv running the tests, comment dropped."""
    words = shlex.split(command, comments=True)
    assert words[0].startswith(".venv/bin/"), command
    return [str(VENV_BIN / words[0].removeprefix(".venv/bin/")), *words[1:]]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    target = tmp_path / "imprint"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(target)], check=True)
    return target


@pytest.fixture
def env(clone: Path) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith("IMPRINT_")}
    return keep | {"PYTHONPATH": str(clone / "src"), "IMPRINT_PORT": str(_free_port()), "COLUMNS": "200"}


@pytest.fixture
def serving(clone: Path, env: dict[str, str]) -> Iterator[dict[str, str]]:
    """The README's first command, its serve half, in the background; yields the printed key pair."""
    readme = (clone / "README.md").read_text()
    first = _blocks(readme, "bash")[0].splitlines()[0]
    serve = first.split(" && ")[-1]
    assert serve.startswith(".venv/bin/imprint serve"), first
    server = subprocess.Popen(_as_run_here(serve), cwd=clone, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    try:
        assert server.stdout is not None
        printed: list[str] = []
        while not printed or "imprint serving on" not in printed[-1]:
            line = server.stdout.readline()
            assert line, "".join(printed)
            printed.append(line)
        text = "".join(printed)
        key = {"IMPRINT_ACCESS_KEY_ID": re.search(r"AccessKey ID\s+(\S+)", text),
               "IMPRINT_ACCESS_KEY_SECRET": re.search(r"AccessKey secret\s+(\S+)", text)}
        assert all(key.values()), text
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{env['IMPRINT_PORT']}/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the server did not answer /health"
            time.sleep(0.2)
        # Drain the log so a chatty server never blocks on a full pipe.
        drain = subprocess.Popen(["cat"], stdin=server.stdout, stdout=subprocess.DEVNULL)
        yield {name: match.group(1) for name, match in key.items() if match is not None}
    finally:
        server.terminate()
        server.wait(30)
    drain.wait(10)


@pytest.mark.slow
def test_a_fresh_clone_gets_pictures_by_following_the_readme(clone: Path, env: dict[str, str],
                                                              serving: dict[str, str]) -> None:
    usage = _section((clone / "README.md").read_text(), "Using it")
    [commands] = _blocks(usage, "bash")
    [program] = _blocks(usage, "python")
    (clone / "usage.py").write_text(program)
    run_env = env | serving | {"TRAIN_STEPS": "10"}
    for line in commands.splitlines():
        if line.startswith("export "):
            continue  # the exported pair is `serving`'s, read from what `imprint serve` printed
        result = subprocess.run(_as_run_here(line), cwd=clone, env=run_env, capture_output=True, text=True,
                                timeout=540)
        assert result.returncode == 0, result.stdout + result.stderr
    assert "FINISHED" in result.stdout and "%" in result.stdout  # it polled with progress
    images = sorted((clone / "out").glob("*.png"))
    assert [p.name for p in images] == ["0000.png", "0001.png", "0002.png", "0003.png"], result.stdout
    for path in images:
        image = Image.open(io.BytesIO(path.read_bytes()))
        assert image.format == "PNG" and image.size == (64, 64)
