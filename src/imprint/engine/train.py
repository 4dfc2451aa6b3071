"""DreamBooth-LoRA with a learned identifier token ("pivotal tuning"), read top to bottom.

Follows diffusers' examples/dreambooth/train_dreambooth_lora.py (and its SDXL sibling): LoRA on the
UNet's attention projections (optionally the text encoders'), captions "a <id> <class>"
(configurable), optional prior preservation, epsilon/v-prediction MSE. The base model's family
(families/) encodes the captions, with one identifier row per text encoder (two on SDXL), and builds
the UNet's conditioning (SDXL: pooled embedding and size time ids); the loop does not know which.
Differences, each for speed on small machines: latents and frozen text features are computed once
(see train_data), only the identifier rows train instead of the whole embedding tables, the UNet's
LoRA and attention layers run lean forwards (see lean_layers) with each distinct caption projected
once per step rather than once per sample, and AdamW is fused.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from diffusers import DDPMScheduler, DiffusionPipeline
from diffusers.utils import convert_state_dict_to_diffusers
from peft import LoraConfig, inject_adapter_in_model
from peft.utils import get_peft_model_state_dict
from PIL import Image

from imprint.engine.adapter_file import AdapterInfo, write_adapter
from imprint.engine.base_model import BaseModel
from imprint.engine.conditioning import Conditioning
from imprint.engine.errors import BadInput
from imprint.engine.identifier import IDENTIFIER_TOKEN, add_identifier, class_token_ids, normalise_object_type
from imprint.engine.images import augmented_views, prepare_indexed
from imprint.engine.lean_layers import streamline
from imprint.engine.progress import ProgressCallback, StepClock
from imprint.engine.sampling import denoise
from imprint.engine.train_config import TrainConfig, default_steps
from imprint.engine.train_data import LatentCache

TEXT_ENCODER_TARGETS = ["q_proj", "k_proj", "v_proj", "out_proj"]
FUSED_ADAMW_DEVICES = ("cpu", "cuda")


def train_adapter(
    base: BaseModel,
    images: Sequence[Image.Image],
    object_type: str,
    out_path: Path,
    config: TrainConfig | None = None,
    *,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    contexts: Sequence[str] | None = None,
    description: str | None = None,
) -> AdapterInfo:
    """Trains an adapter for the subject in `images` and writes it to `out_path` (atomically).

    `contexts`, one per image, name what surrounds the subject in it ("in a room"): each image's
    caption then says so, so its surroundings are credited to those words rather than to the
    identifier, and the subject can be put in other scenes without dragging its photos' along.

    `description` is a fuller noun phrase for the subject than its object type ("golden spotted dog
    with a red scarf"), as an auto-captioner writes one: the captions then say it instead of the bare
    class word, so the words carry the attributes they already mean to the base model and the
    identifier and LoRA have only the rest to learn. The adapter records it, and a prompt's
    <special-token> becomes "<id> <description>" (the identifier still starts from the class word).

    Reports stages "preparing", "class images" (with prior preservation) and "training", each step;
    raises Cancelled at the next step after `cancel` is set, leaving no file behind.
    """
    config = config or TrainConfig()
    config.validate()
    steps = config.steps or default_steps(base)
    object_type = normalise_object_type(object_type)
    family = base.family
    base_tokenizers = family.tokenizers(base.pipeline)
    for tokenizer in base_tokenizers:
        class_token_ids(tokenizer, object_type)  # fail on an unknown word before any heavy work
    noun = object_type
    if description:
        noun = normalise_object_type(description)
        if f" {object_type} " not in f" {noun} ":
            raise BadInput(f"the description {description!r} does not name the object type {object_type!r}")
        for tokenizer in base_tokenizers:
            class_token_ids(tokenizer, noun)  # every word must be one the base model knows
    if contexts is not None and len(contexts) != len(images):
        raise BadInput(f"{len(contexts)} contexts were given for {len(images)} images")
    prepared = prepare_indexed(images, base.image_size, object_type)
    generator = torch.Generator().manual_seed(config.seed)
    device = base.device
    size = (base.image_size, base.image_size)

    # Private copies: the base model keeps serving generators while this run adds layers and tokens.
    pipe = base.working_pipeline()
    unet, vae = pipe.unet, pipe.vae
    text_encoders = family.text_encoders(pipe)

    prepare = StepClock("preparing", 1, progress, cancel)
    prepare.start()
    # Images grouped by caption: each step draws from every group, so each caption trains every step.
    groups: dict[str, list[Image.Image]] = {}
    for index, image in prepared:
        context = " ".join(contexts[index].split()) if contexts is not None else ""
        groups.setdefault(context, []).extend(augmented_views(image, base.image_size, augment=config.augment))
    instance_latents = {context: LatentCache.encode(vae, views) for context, views in groups.items()}
    per_group = max(1, config.batch_size // len(groups))
    prepare.step(1)

    # Prior preservation: the base model's own pictures of the class, generated before any LoRA exists.
    class_prompt = config.class_template.format(object_type=object_type)
    class_latents = None
    if config.prior_preservation:
        generated = _class_latents(pipe, class_prompt, base.image_size, config, progress, cancel)
        class_latents = LatentCache.fixed(generated, vae)

    # The identifier in every text encoder, each row starting from the class word in that encoder.
    identifiers = [
        add_identifier(tokenizer, encoder, object_type)
        for tokenizer, encoder in zip(family.tokenizers(pipe), text_encoders, strict=True)
    ]
    unet_params = _add_lora(unet, list(config.unet_targets), config, generator)
    text_params = []
    if config.train_text_encoder:
        for encoder in text_encoders:
            text_params += _add_lora(encoder, TEXT_ENCODER_TARGETS, config, generator)
    rows = [identifier.row for identifier in identifiers]
    # peft's injector marks every parameter of a model it wraps but its LoRA as frozen, the identifier
    # rows inside the text encoders included: they train, so they are switched back on.
    for row in rows:
        row.requires_grad_(True)
    param_groups = [
        {
            "params": unet_params + text_params,
            "lr": config.learning_rate,
            "weight_decay": config.weight_decay,
        },
        # No decay on the identifier: it would pull the row from the class word towards zero.
        {"params": rows, "lr": config.token_learning_rate, "weight_decay": 0.0},
    ]
    if config.checkpointing(device):
        # Activations recomputed in the backward pass: SDXL at 1024 px does not fit most GPUs without.
        unet.enable_gradient_checkpointing()
        if config.train_text_encoder:
            for encoder in text_encoders:
                encoder.gradient_checkpointing_enable()
    # Lean forwards only once LoRA is in place: they replace the forwards of peft's layers.
    shared_context = streamline(unet)
    if config.train_text_encoder:
        for encoder in text_encoders:
            streamline(encoder)
    # One kernel for all ~110 small LoRA tensors instead of a Python loop of ops per tensor.
    optimizer = torch.optim.AdamW(param_groups, fused=device.type in FUSED_ADAMW_DEVICES)
    trainable = unet_params + text_params + rows

    noise_scheduler = DDPMScheduler.from_config(base.pipeline.scheduler.config)
    instance_prompt = config.instance_template.format(identifier=IDENTIFIER_TOKEN, object_type=noun)
    instance_ids = [
        family.token_ids(pipe, [f"{instance_prompt} {context}".strip()]) for context in instance_latents
    ]
    class_ids = family.token_ids(pipe, [class_prompt])
    with torch.no_grad():
        frozen_class = family.encode_ids(text_encoders, class_ids, size)

    # Half-precision bases (CUDA) train in autocast; fp16 gradients need loss scaling not to underflow.
    autocast = torch.autocast(device.type, dtype=base.dtype, enabled=base.dtype != torch.float32)
    scaler = torch.amp.GradScaler(device.type, enabled=base.dtype == torch.float16)

    unet.train()
    clock = StepClock("training", steps, progress, cancel)
    clock.start()
    for step in range(steps):
        latents = torch.cat([cache.sample(per_group, generator) for cache in instance_latents.values()])
        latents = latents.to(device)
        noise = torch.randn(latents.shape, generator=generator).to(device)
        instance_count = latents.shape[0]
        with autocast:
            # Each distinct caption is encoded once per step: one row for all of its samples.
            captions = [(family.encode_ids(text_encoders, ids, size), per_group) for ids in instance_ids]
            if class_latents is not None:
                trains_text = config.train_text_encoder
                class_text = (
                    family.encode_ids(text_encoders, class_ids, size) if trains_text else frozen_class
                )
                captions.append((class_text, config.batch_size))
                class_batch = class_latents.sample(config.batch_size, generator).to(device)
                latents = torch.cat([latents, class_batch])
                noise = torch.cat([noise, torch.randn(class_batch.shape, generator=generator).to(device)])
            text = _conditioning(captions, shared_context)
            timesteps = torch.randint(
                0, noise_scheduler.config.num_train_timesteps, (latents.shape[0],), generator=generator
            ).to(device)
            noisy = noise_scheduler.add_noise(latents, noise, timesteps)
            pred = unet(noisy, timesteps, return_dict=False, **text.unet_kwargs())[0].float()
        if noise_scheduler.config.prediction_type == "epsilon":
            target = noise
        else:
            target = noise_scheduler.get_velocity(latents, noise, timesteps)

        if class_latents is not None:
            # Instance half and class half are weighed separately, as in the DreamBooth paper.
            pred, prior_pred = pred[:instance_count], pred[instance_count:]
            target, prior_target = target.float()[:instance_count], target.float()[instance_count:]
            loss = F.mse_loss(pred, target) + config.prior_loss_weight * F.mse_loss(prior_pred, prior_target)
        else:
            loss = F.mse_loss(pred, target.float())

        scaler.scale(loss).backward()
        scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(trainable, config.max_grad_norm)
        scaler.step(optimizer)
        scaler.update()
        optimizer.zero_grad(set_to_none=True)
        clock.step(step + 1)

    # The UNet's keys stay in peft's layout (`lora_A`/`lora_B`): diffusers' converter renames only the
    # attention projections (to `lora.down`/`lora.up`), and its loader, given such a mixed file, then
    # skips those keys without an error whenever any other layer (a convolution) carries LoRA too.
    lora = {f"unet.{k}": v for k, v in get_peft_model_state_dict(unet).items()}
    if config.train_text_encoder:
        for component, encoder in zip(family.text_components(), text_encoders, strict=True):
            te_lora = convert_state_dict_to_diffusers(get_peft_model_state_dict(encoder))
            lora |= {f"{component}.{k}": v for k, v in te_lora.items()}
    return write_adapter(
        Path(out_path),
        lora,
        rows,
        token=IDENTIFIER_TOKEN,
        object_type=object_type,
        base_model=base.name,
        steps=steps,
        rank=config.rank,
        seed=config.seed,
        subject=noun,
        family=family.name,
        extra={
            "train_text_encoder": str(config.train_text_encoder).lower(),
            "images": str(len(prepared)),
            "captions": str(len(instance_ids)),
        },
    )


def _conditioning(captions: list[tuple[Conditioning, int]], shared: bool) -> Conditioning:
    """The UNet's conditioning for (caption, sample count) pairs: encoder_hidden_states with one row per
    caption when the UNet's attention layers share keys and values across a caption's samples (which
    needs equal counts), else a row per sample; added conditions (SDXL) always a row per sample."""
    per_sample = Conditioning.cat([caption.repeat_rows([count]) for caption, count in captions])
    if shared and len({count for _, count in captions}) == 1:
        per_sample.hidden = torch.cat([caption.hidden for caption, _ in captions])
    return per_sample


def _add_lora(
    model: torch.nn.Module, targets: list[str], config: TrainConfig, generator: torch.Generator
) -> list[torch.nn.Parameter]:
    """Adds LoRA (alpha = rank, so scale 1, as in the diffusers example); returns its fp32 params."""
    lora_config = LoraConfig(
        r=config.rank, lora_alpha=config.rank, init_lora_weights="gaussian", target_modules=targets
    )
    # peft's own injector rather than `model.add_adapter`: transformers 5's wrapper demands peft >= 0.22,
    # newer than the peft that diffusers 0.42 is tested with; the resulting layers and keys are the same.
    inject_adapter_in_model(lora_config, model)
    params = []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        # Re-draw peft's gaussian init from our generator: the global RNG is shared with other threads.
        if "lora_A" in name:
            with torch.no_grad():
                param.copy_(torch.randn(param.shape, generator=generator) / config.rank)
        # Trainable weights in fp32 even on a half-precision base, as diffusers' cast_training_params.
        param.data = param.data.float()
        params.append(param)
    return params


@torch.no_grad()
def _class_latents(
    pipe: DiffusionPipeline,
    prompt: str,
    image_size: int,
    config: TrainConfig,
    progress: ProgressCallback | None,
    cancel: threading.Event | None,
) -> torch.Tensor:
    """Latents the base model draws for the class prompt: used directly, no decode/encode round trip."""
    count, batch = config.num_class_images, config.batch_size
    starts = range(0, count, batch)
    clock = StepClock("class images", len(starts) * config.class_image_steps, progress, cancel)
    clock.start()
    latents = []
    for start in starts:
        seeds = range(config.seed * 100_003 + start, config.seed * 100_003 + min(start + batch, count))
        generators = [torch.Generator().manual_seed(seed) for seed in seeds]
        done = len(latents) * config.class_image_steps
        latents.append(
            denoise(
                pipe,
                prompt,
                negative_prompt=None,
                generators=generators,
                steps=config.class_image_steps,
                guidance_scale=config.class_guidance_scale,
                width=image_size,
                height=image_size,
                on_step=lambda step, done=done: clock.step(done + step),
            ).float()
        )
    return torch.cat(latents)
