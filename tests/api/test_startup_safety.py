"""`imprint serve` starts safely (busy port and held data folder refused before anything is created),
management commands refuse a folder without a database, `--version`, `draw`, and `GET /health`."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx
from apikit import Server
from PIL import Image
from typer.testing import CliRunner

from imprint.cli.main import app
from imprint.store.data_lock import DataDirLock

SRC = str(Path(__file__).resolve().parents[2] / "src")


def _invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "400"})
    return result.exit_code, result.output


def test_serve_on_a_busy_port_creates_nothing(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, output = _invoke("serve", "--data-dir", str(tmp_path / "data"), "--port", str(port))
    assert code == 1 and f"127.0.0.1:{port}" in output and "--port" in output, output
    assert not (tmp_path / "data").exists()


def test_a_second_serve_on_a_held_data_folder_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    # A live process holding the folder's lock, as a running `imprint serve` does.
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from pathlib import Path; "
         "from imprint.store.data_lock import DataDirLock; lock = DataDirLock(Path(sys.argv[1])); "
         "lock.acquire('imprint serve on http://127.0.0.1:1'); print('held', flush=True); time.sleep(120)",
         str(data)],
        env={**os.environ, "PYTHONPATH": SRC}, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        code, output = _invoke("serve", "--data-dir", str(data), "--port", "0")
        assert code == 1, output
        assert f"pid {holder.pid}" in output and "another --data-dir" in output
        assert sorted(p.name for p in data.iterdir()) == ["serve.lock"]  # no database, no account
    finally:
        holder.kill()
        holder.wait()
    # The holder is gone: the file it left is no obstacle, only a live holder is.
    lock = DataDirLock(data)
    lock.acquire("test")
    lock.release()


def test_management_commands_refuse_a_folder_without_a_database(tmp_path: Path) -> None:
    missing = tmp_path / "elsewhere"
    code, output = _invoke("keys", "list", "--data-dir", str(missing))
    assert code == 1 and "no imprint database" in output and "imprint init" in output
    assert not missing.exists()
    assert _invoke("init", "--data-dir", str(missing))[0] == 0
    assert _invoke("keys", "list", "--data-dir", str(missing), "--json") == (0, "[]\n")


def test_version() -> None:
    from importlib.metadata import version

    assert _invoke("--version") == (0, f"imprint {version('imprint')}\n")


def test_draw_writes_renders_of_one_subject(tmp_path: Path) -> None:
    code, output = _invoke("draw", "cat", "--out", str(tmp_path / "pics"), "--count", "3")
    assert code == 0, output
    files = sorted((tmp_path / "pics").iterdir())
    assert [f.name for f in files] == ["cat-0.png", "cat-1.png", "cat-2.png"]
    assert all(Image.open(f).size == (64, 64) for f in files)
    assert _invoke("draw", "dragon", "--out", str(tmp_path / "x"))[0] == 1


def test_health_is_unsigned_and_says_nothing_else(server: Server) -> None:
    response = httpx.get(f"http://{server.endpoint}/health")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_gitignore_keeps_the_default_data_folder_out() -> None:
    ignored = (Path(__file__).resolve().parents[2] / ".gitignore").read_text().split()
    assert "imprint-data/" in ignored
