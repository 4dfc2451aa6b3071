from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch
from seckit import SecServer, Tenant, settings, start

torch.set_num_threads(1)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecServer]:
    srv = start(settings(tmp_path_factory.mktemp("security-data")))
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def alice(server: SecServer) -> Tenant:
    return server.seed(
        server.account("alice"), ["https://photos.example/alice-0.png", "https://photos.example/alice-1.png"]
    )


@pytest.fixture(scope="session")
def bob(server: SecServer) -> Tenant:
    return server.seed(server.account("bob"), ["https://photos.example/bob-0.png"])
