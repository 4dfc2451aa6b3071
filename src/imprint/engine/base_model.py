"""One warm Stable Diffusion pipeline that trainers and generators take their working copies from."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import torch
from diffusers import DPMSolverMultistepScheduler, StableDiffusionPipeline

from imprint.engine.errors import BaseModelNotFound

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
# Classifier-free guidance for models that do not name their own: StableDiffusionPipeline's default,
# what SD 1.5 and its fine-tunes are sampled with.
DEFAULT_GUIDANCE_SCALE = 7.5
# Sampling settings a model folder may carry beside model_index.json, e.g. {"guidance_scale": 3.0}.
SAMPLING_FILE = "imprint.json"
_DTYPES = {
    "float32": torch.float32,
    "fp32": torch.float32,
    "float16": torch.float16,
    "fp16": torch.float16,
    "bfloat16": torch.bfloat16,
    "bf16": torch.bfloat16,
}


def _resolve_dtype(device: str, dtype: str | None) -> torch.dtype:
    if dtype is None:
        # Half precision on CPU is slower than fp32 and, without AVX-512 bf16, not even supported well.
        return torch.float16 if device.startswith("cuda") else torch.float32
    try:
        return _DTYPES[dtype.lower()]
    except KeyError:
        raise ValueError(f"unknown dtype {dtype!r}; use one of {', '.join(_DTYPES)}") from None


class BaseModel:
    """A loaded base pipeline. Never mutated after `load`: users take copies via `working_pipeline`."""

    def __init__(
        self,
        pipeline: StableDiffusionPipeline,
        *,
        name: str,
        device: str,
        dtype: torch.dtype,
        guidance_scale: float = DEFAULT_GUIDANCE_SCALE,
    ) -> None:
        self.pipeline = pipeline
        self.name = name
        self.device = torch.device(device)
        self.dtype = dtype
        self.image_size = int(pipeline.unet.config.sample_size * pipeline.vae_scale_factor)
        # What a generation request that names no guidance scale gets.
        self.guidance_scale = guidance_scale

    @classmethod
    def load(cls, source: str | Path, *, device: str = "cpu", dtype: str | None = None) -> BaseModel:
        """Loads a diffusers Stable Diffusion folder, or a hub id such as `runwayml/stable-diffusion-v1-5`."""
        torch_dtype = _resolve_dtype(device, dtype)
        path = Path(source).expanduser()
        if path.exists():
            if not (path / "model_index.json").is_file():
                raise BaseModelNotFound(f"{path} is not a diffusers pipeline folder (no model_index.json)")
            name, kwargs = path.resolve().name, {"local_files_only": True}
        elif isinstance(source, str) and _HUB_ID.match(source):
            name, kwargs = source, {}
        else:
            raise BaseModelNotFound(f"base model {str(source)!r} not found")
        try:
            pipeline = StableDiffusionPipeline.from_pretrained(
                str(path) if path.exists() else str(source),
                dtype=torch_dtype,
                safety_checker=None,
                feature_extractor=None,
                requires_safety_checker=False,
                **kwargs,
            )
        except (OSError, ValueError) as exc:  # the hub client raises OSError subclasses for missing repos
            raise BaseModelNotFound(f"could not load base model {str(source)!r}: {exc}") from exc
        pipeline.to(device)
        pipeline.set_progress_bar_config(disable=True)
        for module in (pipeline.unet, pipeline.vae, pipeline.text_encoder):
            module.requires_grad_(False)
            module.eval()
        if pipeline.device.type == "cuda":
            # diffusers picks scaled-dot-product attention by default on torch 2; channels_last speeds convs.
            pipeline.unet.to(memory_format=torch.channels_last)
            pipeline.vae.to(memory_format=torch.channels_last)
        guidance = _sampling_guidance(path) if path.exists() else DEFAULT_GUIDANCE_SCALE
        return cls(pipeline, name=name, device=device, dtype=torch_dtype, guidance_scale=guidance)

    def working_pipeline(self) -> StableDiffusionPipeline:
        """A pipeline whose UNet, text encoder and tokenizer are private copies, free to receive LoRA layers
        and new tokens; the VAE is shared because nobody changes it. Sampling uses DPM-Solver++."""
        base = self.pipeline
        pipeline = StableDiffusionPipeline(
            vae=base.vae,
            text_encoder=copy.deepcopy(base.text_encoder),
            tokenizer=copy.deepcopy(base.tokenizer),
            unet=copy.deepcopy(base.unet),
            scheduler=DPMSolverMultistepScheduler.from_config(
                base.scheduler.config, algorithm_type="dpmsolver++"
            ),
            safety_checker=None,
            feature_extractor=None,
            requires_safety_checker=False,
        )
        pipeline.set_progress_bar_config(disable=True)
        return pipeline

    def __repr__(self) -> str:
        return f"BaseModel({self.name!r}, device={self.device}, dtype={self.dtype}, size={self.image_size})"


def _sampling_guidance(folder: Path) -> float:
    """The folder's own guidance scale (SAMPLING_FILE), else DEFAULT_GUIDANCE_SCALE."""
    path = folder / SAMPLING_FILE
    if not path.is_file():
        return DEFAULT_GUIDANCE_SCALE
    try:
        value = json.loads(path.read_text(encoding="utf-8")).get("guidance_scale", DEFAULT_GUIDANCE_SCALE)
    except (ValueError, AttributeError) as exc:
        raise BaseModelNotFound(f"{path} is not a JSON object: {exc}") from exc
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise BaseModelNotFound(f"{path}: guidance_scale must be a number >= 0, got {value!r}")
    return float(value)
