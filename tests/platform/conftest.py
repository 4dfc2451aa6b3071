"""A mock-mode server (no model) on loopback, shared by the webhook, metrics, OpenAPI and mock tests,
and the image server its trainings fetch from."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# The servers and SDK clients of the API tests (apikit).
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "api"))

from apikit import ImageServer, Server, png_bytes, start_server  # noqa: E402
from platformkit import mock_settings  # noqa: E402


@pytest.fixture(scope="session")
def images() -> Iterator[ImageServer]:
    server = ImageServer()
    yield server
    server.close()


@pytest.fixture(scope="session")
def image_urls(images: ImageServer) -> list[str]:
    return [images.add(f"cat{i}.png", png_bytes(i, "cat")) for i in range(2)]


@pytest.fixture(scope="module")
def mock_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = start_server(mock_settings(tmp_path_factory.mktemp("mock")))
    yield server
    server.stop()
