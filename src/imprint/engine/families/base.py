"""What every model family provides (see the package docstring)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

import torch
from diffusers import DiffusionPipeline
from torch import nn

from imprint.engine.conditioning import Conditioning


class Family(ABC):
    name: ClassVar[str]  # recorded in adapter files: "sd", "sdxl"
    label: ClassVar[str]  # for people: "SD 1.x/2.x"
    pipeline_class: ClassVar[type[DiffusionPipeline]]
    # (tokenizer, text encoder) attribute pairs of the pipeline, in the order adapters store them.
    text_parts: ClassVar[tuple[tuple[str, str], ...]]
    # Classifier-free guidance for a model folder that names none: its pipeline's own default.
    default_guidance_scale: ClassVar[float]

    def load(self, source: str, **kwargs: Any) -> DiffusionPipeline:
        return self.pipeline_class.from_pretrained(source, **self.load_kwargs(), **kwargs)

    def load_kwargs(self) -> dict[str, Any]:
        return {}

    def tokenizers(self, pipe: DiffusionPipeline) -> list[Any]:
        return [getattr(pipe, t) for t, _ in self.text_parts]

    def text_encoders(self, pipe: DiffusionPipeline) -> list[nn.Module]:
        return [getattr(pipe, e) for _, e in self.text_parts]

    def text_components(self) -> tuple[str, ...]:
        """The pipeline attributes that may carry text-encoder LoRA."""
        return tuple(e for _, e in self.text_parts)

    @abstractmethod
    def working_pipeline(self, base: DiffusionPipeline, scheduler: Any) -> DiffusionPipeline:
        """A pipeline sharing the base's VAE, with private copies of UNet, text encoders and tokenizers."""

    def token_ids(self, pipe: DiffusionPipeline, texts: Sequence[str]) -> list[torch.Tensor]:
        """Padded token ids of each text, one tensor per text encoder."""
        device = pipe.unet.device
        return [
            tokenizer(
                list(texts),
                padding="max_length",
                max_length=tokenizer.model_max_length,
                truncation=True,
                return_tensors="pt",
            ).input_ids.to(device)
            for tokenizer in self.tokenizers(pipe)
        ]

    @abstractmethod
    def encode_ids(
        self, text_encoders: Sequence[nn.Module], ids: Sequence[torch.Tensor], size: tuple[int, int]
    ) -> Conditioning:
        """The UNet's conditioning for token ids (one tensor per encoder), for images of `size` (h, w)."""

    def encode(self, pipe: DiffusionPipeline, texts: Sequence[str], size: tuple[int, int]) -> Conditioning:
        return self.encode_ids(self.text_encoders(pipe), self.token_ids(pipe, texts), size)

    def unconditional(
        self, pipe: DiffusionPipeline, negatives: Sequence[str], size: tuple[int, int]
    ) -> Conditioning:
        """Rows for classifier-free guidance's unconditional half; "" means no negative prompt."""
        return self.encode(pipe, negatives, size)

    def decode_dtype(self, pipe: DiffusionPipeline) -> torch.dtype:
        return pipe.vae.dtype
