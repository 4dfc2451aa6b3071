from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from apikit import ImageServer, Server, png_bytes, settings_for, start_server, train_model

from imprint.tiny.pipeline_folder import save_random_pipeline

torch.set_num_threads(1)


@pytest.fixture(scope="session")
def base_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_random_pipeline(tmp_path_factory.mktemp("base") / "base")


@pytest.fixture(scope="session")
def images() -> Iterator[ImageServer]:
    server = ImageServer()
    yield server
    server.close()


@pytest.fixture(scope="session")
def image_urls(images: ImageServer) -> list[str]:
    return [images.add(f"dog{i}.png", png_bytes(i)) for i in range(2)]


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory, base_model: Path) -> Iterator[Server]:
    srv = start_server(settings_for(tmp_path_factory.mktemp("data"), base_model))
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def trained_model(server: Server, image_urls: list[str]) -> str:
    return train_model(server.new_client(), image_urls)
