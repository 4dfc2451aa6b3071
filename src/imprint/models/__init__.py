"""Models shipped inside the package: the imprint-tiny base pipeline and the judge that scores it."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

BUNDLED_MODEL_NAME = "imprint-tiny"


def bundled_model() -> Path:
    """Folder of the bundled diffusers pipeline (the default --base-model)."""
    return Path(str(files(__name__) / BUNDLED_MODEL_NAME))


def bundled_judge() -> Path:
    return Path(str(files(__name__) / "judge"))
