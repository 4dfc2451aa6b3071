"""Shared fixtures: one random-weight tiny pipeline and one trained adapter per test session."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image

from imprint.engine import AdapterInfo, BaseModel, TrainConfig, train_adapter
from imprint.tiny.pipeline_folder import save_random_pipeline
from imprint.world.render import render
from imprint.world.subject import Subject

# The machine has two cores and other work running: one thread keeps timings stable and fair.
torch.set_num_threads(1)

FEW_STEPS = 4


@pytest.fixture(scope="session")
def pipeline_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_random_pipeline(tmp_path_factory.mktemp("tiny") / "random-tiny")


@pytest.fixture(scope="session")
def base(pipeline_folder: Path) -> BaseModel:
    return BaseModel.load(pipeline_folder)


def subject_images(subject: Subject, count: int = 3) -> list[Image.Image]:
    scenes = ["beach", "snow", "forest", "city", "room"]
    return [render(subject, scenes[i % len(scenes)], seed=i) for i in range(count)]


@pytest.fixture(scope="session")
def dog_images() -> list[Image.Image]:
    return subject_images(Subject("dog", "brown", "spotted", "scarf", "red"))


@pytest.fixture(scope="session")
def adapters_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("adapters")


@pytest.fixture(scope="session")
def dog_adapter(base: BaseModel, dog_images: list[Image.Image], adapters_dir: Path) -> AdapterInfo:
    return train_adapter(
        base, dog_images, "dog", adapters_dir / "dog.safetensors", TrainConfig(steps=FEW_STEPS)
    )


@pytest.fixture(scope="session")
def cat_adapter(base: BaseModel, adapters_dir: Path) -> AdapterInfo:
    images = subject_images(Subject("cat", "gray", "striped", "hat", "blue"), count=2)
    return train_adapter(
        base, images, "cat", adapters_dir / "cat.safetensors", TrainConfig(steps=FEW_STEPS, seed=1)
    )
