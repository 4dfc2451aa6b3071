from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch
from api.apikit import Server, settings_for, start_server

from imprint.tiny.pipeline_folder import save_random_pipeline

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    base = save_random_pipeline(tmp_path_factory.mktemp("base") / "base")
    srv = start_server(settings_for(tmp_path_factory.mktemp("data"), base, default_inference_steps=2))
    yield srv
    srv.stop()
