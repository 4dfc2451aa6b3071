"""What a training run can be asked to do, with defaults that fit the base model."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from imprint.engine.base_model import BaseModel
from imprint.engine.errors import BadInput

# UNets below this size are imprint-tiny class models that train on a CPU; above it, SD-class models.
SMALL_UNET_PARAMETERS = 50_000_000
# imprint-tiny: sized so a default run stays under two minutes on two CPU cores.
SMALL_MODEL_STEPS = 200
# imprint-tiny with captioned pictures (see recipe_for), at CAPTIONED_BATCH samples a step: about 50 s
# on two CPU cores.
SMALL_CAPTIONED_STEPS = 300
# At imprint-tiny's size a step's fixed cost (~85 ms of per-op overhead on two cores) outweighs its
# per-sample arithmetic (~11 ms): 8 samples a step for 300 steps sees as many samples as 4 for 600 in
# two thirds of the time, and held the subject at least as well (docs/imprint-tiny.md, session 11).
CAPTIONED_BATCH = 8
# SD 1.5-class models: the range DreamBooth-LoRA recipes use for a handful of photos.
LARGE_MODEL_STEPS = 500
# LoRA on the attention projections: what DreamBooth-LoRA recipes adapt.
ATTENTION_TARGETS: tuple[str, ...] = ("to_k", "to_q", "to_v", "to_out.0")
# ...and on every other layer of the UNet's blocks: the ResNet convolutions and the transformer blocks'
# projections and feed-forward. Fine marks (spots, stripes, a hat's brim) live in the convolutions.
ALL_LAYER_TARGETS: tuple[str, ...] = ATTENTION_TARGETS + (
    "conv1", "conv2", "proj_in", "proj_out", "ff.net.0.proj", "ff.net.2",
)


@dataclass
class TrainConfig:
    steps: int | None = None  # None: default_steps(base)
    rank: int = 8
    seed: int = 0
    # Higher than the diffusers example's 1e-4: runs here are a few hundred steps, not thousands.
    learning_rate: float = 5e-4
    # The identifier row moves faster than LoRA weights: it carries most of the subject's identity.
    token_learning_rate: float = 2e-3
    batch_size: int = 4
    train_text_encoder: bool = False
    prior_preservation: bool = False
    num_class_images: int = 16
    augment: bool = True
    unet_targets: tuple[str, ...] = ATTENTION_TARGETS
    prior_loss_weight: float = 1.0
    max_grad_norm: float = 1.0
    weight_decay: float = 1e-2
    class_image_steps: int = 20
    class_guidance_scale: float = 4.0
    # The DreamBooth paper's "a [V] [class noun]". imprint-tiny never saw "photo of" in its captions
    # (those words' embeddings are untrained there), so the shorter sentence is the default.
    instance_template: str = "a {identifier} {object_type}"
    class_template: str = "a {object_type}"
    # Recompute activations in the backward pass instead of keeping them: less memory, ~30% more time.
    # None: on for CUDA (SDXL at 1024 px needs it on most cards), off elsewhere.
    gradient_checkpointing: bool | None = None

    def checkpointing(self, device: torch.device) -> bool:
        if self.gradient_checkpointing is None:
            return device.type == "cuda"
        return self.gradient_checkpointing

    def validate(self) -> None:
        checks = {
            "steps": self.steps is None or self.steps >= 1,
            "rank": self.rank >= 1,
            "batch_size": self.batch_size >= 1,
            "learning_rate": self.learning_rate > 0,
            "token_learning_rate": self.token_learning_rate >= 0,
            "num_class_images": not self.prior_preservation or self.num_class_images >= 1,
            "class_image_steps": self.class_image_steps >= 1,
            "unet_targets": bool(self.unet_targets),
        }
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            raise BadInput(
                f"invalid training settings: {', '.join(f'{n}={getattr(self, n)!r}' for n in bad)}"
            )


def _is_small(base: BaseModel) -> bool:
    return sum(p.numel() for p in base.pipeline.unet.parameters()) < SMALL_UNET_PARAMETERS


def default_steps(base: BaseModel) -> int:
    return SMALL_MODEL_STEPS if _is_small(base) else LARGE_MODEL_STEPS


def recipe_for(base: BaseModel, contexts: Sequence[str] | None) -> TrainConfig:
    """The default recipe for `base`, given the contexts `train_adapter` will get (None: uncaptioned;
    captioned when at least one picture's surroundings are named).

    On imprint-tiny a stronger adaptation (rank 32, 2x the learning rate, 3x the samples, text-encoder
    LoRA, a faster identifier, LoRA on every layer of the UNet's blocks) keeps far more of a
    subject's detail, but without captions it also learns the photos' backgrounds and loses the
    prompted scene (measured in docs/imprint-tiny.md): it is only the default when captions carry
    the backgrounds.
    """
    if not _is_small(base):
        return TrainConfig(steps=LARGE_MODEL_STEPS)
    if not contexts or not any(contexts):
        return TrainConfig(steps=SMALL_MODEL_STEPS)
    return TrainConfig(
        steps=SMALL_CAPTIONED_STEPS,
        batch_size=CAPTIONED_BATCH,
        rank=32,
        learning_rate=1e-3,
        token_learning_rate=5e-3,
        train_text_encoder=True,
        # LoRA on the convolutions too, and the pictures as they are: at 64x64 a resized crop smears
        # the one- or two-pixel marks the convolutions are there to learn.
        unet_targets=ALL_LAYER_TARGETS,
        augment=False,
    )
