"""The operator's allow-list, from `imprint serve --allow-fetch-from` or IMPRINT_ALLOW_FETCH_FROM to the
worker's FetchPolicy; and the secure defaults."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from imprint.cli.main import app
from imprint.config import Settings
from imprint.ingest import FetchPolicy, parse_networks


class Captured(Exception):
    pass


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> list[Settings]:
    """Stops `serve` at build_runtime and keeps the Settings it was given."""
    seen: list[Settings] = []

    def fake_build_runtime(settings: Settings, **kw: Any) -> Any:
        seen.append(settings)
        raise Captured

    monkeypatch.setattr("imprint.runtime.build_runtime", fake_build_runtime)
    monkeypatch.delenv("IMPRINT_ALLOW_FETCH_FROM", raising=False)
    return seen


def serve(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> Any:
    # serve reads the base model's family from model_index.json before anything else; no weights needed
    # here, since the runtime is never built.
    (tmp_path / "model_index.json").write_text('{"_class_name": "StableDiffusionPipeline"}')
    # Port 0: the start-up port check must not depend on what else listens on this machine.
    return CliRunner().invoke(app, ["serve", "--data-dir", str(tmp_path), "--base-model", str(tmp_path),
                                    "--port", "0", *args], env=env)


def test_serve_takes_repeated_allow_fetch_from(tmp_path: Path, captured: list[Settings]) -> None:
    result = serve(tmp_path, "--allow-fetch-from", "10.0.0.0/8", "--allow-fetch-from", "fd00:1::/32")
    assert isinstance(result.exception, Captured), result.output
    assert captured[0].allow_fetch_from == ("10.0.0.0/8", "fd00:1::/32")


def test_serve_reads_a_comma_separated_environment_variable(tmp_path: Path, captured: list[Settings]) -> None:
    result = serve(tmp_path, env={"IMPRINT_ALLOW_FETCH_FROM": "10.1.0.0/16, 192.168.5.0/24"})
    assert isinstance(result.exception, Captured), result.output
    assert captured[0].allow_fetch_from == ("10.1.0.0/16", "192.168.5.0/24")


def test_serve_allows_nothing_private_by_default(tmp_path: Path, captured: list[Settings]) -> None:
    result = serve(tmp_path)
    assert isinstance(result.exception, Captured), result.output
    assert captured[0].allow_fetch_from == ()


def test_serve_refuses_a_bad_network(tmp_path: Path, captured: list[Settings]) -> None:
    result = serve(tmp_path, "--allow-fetch-from", "10.0.0.0/33")
    assert result.exit_code == 2 and "10.0.0.0/33" in result.output and captured == []


def test_defaults_are_the_secure_ones() -> None:
    settings, policy = Settings(data_dir=Path("unused")), FetchPolicy()
    assert settings.allow_fetch_from == () and policy.allow_networks == ()
    assert settings.max_images_per_job == policy.max_images == 50
    assert settings.max_image_bytes == policy.max_bytes == 20 * 1024 * 1024
    assert policy.max_redirects == 3 and policy.schemes == {"http", "https"}


def test_the_runtime_hands_the_allow_list_to_the_worker(tmp_path: Path) -> None:
    from imprint.runtime import build_runtime

    runtime = build_runtime(Settings(data_dir=tmp_path, base_model=str(tmp_path),
                                     allow_fetch_from=("10.0.0.0/8", "fd00::/8")))
    try:
        assert runtime.worker.fetch_policy.allow_networks == parse_networks(["10.0.0.0/8", "fd00::/8"])
    finally:
        runtime.engine.dispose()
