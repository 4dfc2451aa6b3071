"""The default recipes, and the service's default trainSteps agreeing with the engine's."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from torch import nn

from imprint.config import Settings
from imprint.engine.train_config import (
    ALL_LAYER_TARGETS,
    CAPTIONED_BATCH,
    SMALL_CAPTIONED_STEPS,
    SMALL_MODEL_STEPS,
    recipe_for,
)


def _base(parameters: int) -> SimpleNamespace:
    # recipe_for only asks how large the UNet is.
    return SimpleNamespace(pipeline=SimpleNamespace(unet=nn.Linear(parameters, 1, bias=False)))


def test_the_captioned_recipe_sees_2400_pictures_in_300_steps_of_8() -> None:
    config = recipe_for(_base(1000), ["on the beach"])
    assert (config.steps, config.batch_size) == (300, 8) == (SMALL_CAPTIONED_STEPS, CAPTIONED_BATCH)
    assert config.rank == 32 and config.train_text_encoder and config.unet_targets == ALL_LAYER_TARGETS


def test_uncaptioned_and_large_models_keep_four_pictures_a_step() -> None:
    assert recipe_for(_base(1000), None).batch_size == 4
    assert recipe_for(_base(1000), None).steps == SMALL_MODEL_STEPS
    assert recipe_for(_base(60_000_000), ["on the beach"]).batch_size == 4


def test_the_services_default_train_steps_are_the_bundled_models_captioned_recipe() -> None:
    # The service passes its default trainSteps to every training: it must be the recipe's own count.
    assert Settings(data_dir=Path("unused")).default_train_steps == SMALL_CAPTIONED_STEPS
