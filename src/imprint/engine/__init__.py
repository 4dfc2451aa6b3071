"""The ML engine: DreamBooth-LoRA training with a learned identifier token, and generation with a warm
base model and swappable adapters. Knows no HTTP, tenants or databases."""

from imprint.engine.adapter_cache import AdapterStats
from imprint.engine.adapter_file import AdapterInfo, read_adapter_info
from imprint.engine.base_model import BaseModel
from imprint.engine.errors import BadInput, BaseModelNotFound, Cancelled, EngineError, UnusableImages
from imprint.engine.generate import GenerateRequest, Generator
from imprint.engine.identifier import SPECIAL_TOKEN
from imprint.engine.progress import Progress, ProgressCallback
from imprint.engine.train import train_adapter
from imprint.engine.train_config import TrainConfig

__all__ = [
    "SPECIAL_TOKEN",
    "AdapterInfo",
    "AdapterStats",
    "BadInput",
    "BaseModel",
    "BaseModelNotFound",
    "Cancelled",
    "EngineError",
    "GenerateRequest",
    "Generator",
    "Progress",
    "ProgressCallback",
    "TrainConfig",
    "UnusableImages",
    "read_adapter_info",
    "train_adapter",
]
