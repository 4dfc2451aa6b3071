"""One warm Stable Diffusion pipeline (of a supported family) that trainers and generators take their
working copies from."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from diffusers import DiffusionPipeline, DPMSolverMultistepScheduler

from imprint.engine.errors import BaseModelNotFound
from imprint.engine.families import Family, detect_family

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
        pipeline: DiffusionPipeline,
        *,
        family: Family,
        name: str,
        device: str,
        dtype: torch.dtype,
        guidance_scale: float = DEFAULT_GUIDANCE_SCALE,
        width: int | None = None,
        height: int | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.family = family
        self.name = name
        self.device = torch.device(device)
        self.dtype = dtype
        # The family's native resolution (512 for SD 1.x, 768 for SD 2.x, 1024 for SDXL, 64 for
        # imprint-tiny), read from the model: what training uses and generation defaults to.
        self.image_size = int(pipeline.unet.config.sample_size * pipeline.vae_scale_factor)
        # What a generation request that names no size gets (the server's --width/--height).
        self.width = width or self.image_size
        self.height = height or self.image_size
        # What a generation request that names no guidance scale gets.
        self.guidance_scale = guidance_scale

    @classmethod
    def load(
        cls,
        source: str | Path,
        *,
        device: str = "cpu",
        dtype: str | None = None,
        width: int | None = None,
        height: int | None = None,
    ) -> BaseModel:
        """Loads a diffusers pipeline folder, or a hub id such as `stabilityai/stable-diffusion-xl-base-1.0`,
        of a supported family (families.detect_family; others raise UnsupportedBaseModel)."""
        torch_dtype = _resolve_dtype(device, dtype)
        family = detect_family(source)
        path = Path(source).expanduser()
        if path.exists():
            name, kwargs = path.resolve().name, {"local_files_only": True}
        else:
            name, kwargs = str(source), {}
        try:
            pipeline = family.load(str(path) if path.exists() else str(source), dtype=torch_dtype, **kwargs)
        except (OSError, ValueError) as exc:  # the hub client raises OSError subclasses for missing repos
            raise BaseModelNotFound(f"could not load base model {str(source)!r}: {exc}") from exc
        pipeline.to(device)
        pipeline.set_progress_bar_config(disable=True)
        for module in (pipeline.unet, pipeline.vae, *family.text_encoders(pipeline)):
            module.requires_grad_(False)
            module.eval()
        if pipeline.device.type == "cuda":
            # diffusers picks scaled-dot-product attention by default on torch 2; channels_last speeds convs.
            pipeline.unet.to(memory_format=torch.channels_last)
            pipeline.vae.to(memory_format=torch.channels_last)
        default = family.default_guidance_scale
        guidance = _sampling_guidance(path, default) if path.exists() else default
        return cls(pipeline, family=family, name=name, device=device, dtype=torch_dtype,
                   guidance_scale=guidance, width=width, height=height)

    def working_pipeline(self) -> DiffusionPipeline:
        """A pipeline whose UNet, text encoders and tokenizers are private copies, free to receive LoRA
        layers and new tokens; the VAE is shared because nobody changes it. Sampling uses DPM-Solver++."""
        scheduler = DPMSolverMultistepScheduler.from_config(
            self.pipeline.scheduler.config, algorithm_type="dpmsolver++"
        )
        pipeline = self.family.working_pipeline(self.pipeline, scheduler)
        pipeline.set_progress_bar_config(disable=True)
        return pipeline

    def __repr__(self) -> str:
        return (f"BaseModel({self.name!r}, family={self.family.name}, device={self.device}, "
                f"dtype={self.dtype}, size={self.image_size})")


def _sampling_guidance(folder: Path, default: float) -> float:
    """The folder's own guidance scale (SAMPLING_FILE), else the family's default."""
    path = folder / SAMPLING_FILE
    if not path.is_file():
        return default
    try:
        value = json.loads(path.read_text(encoding="utf-8")).get("guidance_scale", default)
    except (ValueError, AttributeError) as exc:
        raise BaseModelNotFound(f"{path} is not a JSON object: {exc}") from exc
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise BaseModelNotFound(f"{path}: guidance_scale must be a number >= 0, got {value!r}")
    return float(value)
