"""Model families: the one seam between the engine and a base model's architecture.

A family knows how to load its pipeline, which tokenizers and text encoders it has (one for SD
1.x/2.x, two for SDXL), how their outputs become the UNet's conditioning, and which pipeline class
saves its LoRA. The trainer, the generator, the adapter cache and the exporter ask the family and
never test for an architecture themselves. The family is read from `model_index.json`'s
`_class_name`, before any weights are loaded: anything else is refused with the class it names.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from imprint.engine.errors import BaseModelNotFound
from imprint.engine.families.base import Family
from imprint.engine.families.sd import StableDiffusion
from imprint.engine.families.sdxl import StableDiffusionXL

FAMILIES: dict[str, Family] = {f.name: f for f in (StableDiffusion(), StableDiffusionXL())}
_BY_CLASS = {f.pipeline_class.__name__: f for f in FAMILIES.values()}
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


class UnsupportedBaseModel(BaseModelNotFound):
    """The folder or hub id is not a pipeline of a supported family."""


def supported() -> str:
    """"StableDiffusionPipeline (SD 1.x/2.x) and StableDiffusionXLPipeline (SDXL)"."""
    names = [f"{f.pipeline_class.__name__} ({f.label})" for f in FAMILIES.values()]
    return " and ".join(names)


def family_named(name: str) -> Family:
    try:
        return FAMILIES[name]
    except KeyError:
        raise UnsupportedBaseModel(f"unknown model family {name!r}; imprint supports {supported()}") from None


def family_of_class(class_name: str | None, source: str) -> Family:
    family = _BY_CLASS.get(class_name or "")
    if family is None:
        raise UnsupportedBaseModel(
            f"{source} is a {class_name or 'pipeline without a class name'}; imprint supports {supported()}"
        )
    return family


def family_of_pipeline(pipe: object) -> Family:
    """The family of a loaded pipeline (by its class, as model_index.json names it)."""
    return family_of_class(type(pipe).__name__, type(pipe).__name__)


def is_hub_id(source: str) -> bool:
    return bool(_HUB_ID.match(source)) and not Path(source).expanduser().exists()


def detect_family(source: str | Path) -> Family:
    """The family of a pipeline folder or hub id, from its model_index.json alone (for a hub id, only
    that file is fetched). UnsupportedBaseModel (a BaseModelNotFound) when it is none of FAMILIES."""
    path = Path(source).expanduser()
    if path.exists():
        index = path / "model_index.json"
        if not index.is_file():
            raise UnsupportedBaseModel(
                f"{path} is not a diffusers pipeline folder (no model_index.json); imprint supports "
                f"{supported()}"
            )
        try:
            config = json.loads(index.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise UnsupportedBaseModel(f"{index} is not readable JSON: {exc}") from exc
    elif isinstance(source, str) and _HUB_ID.match(source):
        from diffusers import DiffusionPipeline

        try:
            config = DiffusionPipeline.load_config(source)
        except (OSError, ValueError) as exc:  # the hub client raises OSError subclasses
            raise BaseModelNotFound(f"could not read base model {source!r}: {exc}") from exc
    else:
        raise BaseModelNotFound(f"base model {str(source)!r} not found (neither a folder nor a hub id)")
    if not isinstance(config, dict):
        raise UnsupportedBaseModel(f"{source}: model_index.json is not a JSON object")
    return family_of_class(config.get("_class_name"), str(source))


__all__ = [
    "FAMILIES",
    "Family",
    "UnsupportedBaseModel",
    "detect_family",
    "family_named",
    "family_of_pipeline",
    "supported",
]
