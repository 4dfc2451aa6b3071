"""Scratch folders a killed worker left are swept on start; live workers' folders are not."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from imprint.worker.scratch import job_folder, sweep


def test_folders_of_dead_processes_are_swept_and_live_ones_kept(tmp_path: Path) -> None:
    host = socket.gethostname()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    dead_pid = int(dead.stdout)  # exited: its folders are orphans
    (tmp_path / f"job-{host}-{dead_pid}-abc").mkdir()
    (tmp_path / f"job-{host}-{dead_pid}-full").mkdir()
    (tmp_path / f"job-{host}-{dead_pid}-full" / "adapter.safetensors.part").write_bytes(b"x" * 10)
    (tmp_path / "tmpold1").mkdir()  # an empty folder of an older version
    (tmp_path / "tmpold2").mkdir()
    (tmp_path / "tmpold2" / "f").write_bytes(b"x")  # not empty: kept, it may be in use
    (tmp_path / f"job-otherhost-{dead_pid}-x").mkdir()  # another host's: not ours to judge
    with job_folder(tmp_path) as live:
        assert sweep(tmp_path) == 3
        assert live.is_dir()
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
            [live.name, "tmpold2", f"job-otherhost-{dead_pid}-x"])
        assert live.name.startswith(f"job-{host}-{os.getpid()}-")
    assert not live.exists()


def test_start_sweeps_the_work_directory(tmp_path: Path) -> None:
    from imprint.config import Settings
    from imprint.runtime import build_runtime

    config = Settings(data_dir=tmp_path / "data", base_model=str(tmp_path / "no-model"))
    orphan = config.work_dir / f"job-{socket.gethostname()}-999999999-x"
    orphan.mkdir(parents=True)
    runtime = build_runtime(config)
    runtime.start()
    try:
        assert not orphan.exists()
    finally:
        runtime.stop()
