"""Text-to-image sampling in diffusers' vocabulary: encode prompt, prepare latents, denoise, decode.

The steps of the pipelines' `__call__` for what the engine uses (classifier-free guidance, per-image
generators, a step callback), with the pipeline's own `prepare_latents`, scheduler and VAE and the
family's prompt encoding (families/): the same loop serves SD 1.x/2.x and SDXL. Not `__call__`
itself: it looks up its execution device by walking every module for offloading hooks, several
times a request, and each warm LoRA adapter adds hundreds of modules; on imprint-tiny with eight
warm adapters that walk cost ~30 ms a request.

The batch of a denoising loop is [unconditional rows..., conditional rows...] under guidance and the
conditional rows alone without it; row i of each half is image i.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

import torch
from diffusers import DiffusionPipeline, SchedulerMixin
from PIL import Image

from imprint.engine.conditioning import Conditioning
from imprint.engine.families import family_of_pipeline


@torch.no_grad()
def denoise(
    pipe: DiffusionPipeline,
    prompt: str,
    *,
    negative_prompt: str | None,
    generators: list[torch.Generator],
    steps: int,
    guidance_scale: float,
    width: int,
    height: int,
    on_step: Callable[[int], None] | None = None,
    scheduler: SchedulerMixin | None = None,
) -> torch.Tensor:
    """Latents (in the UNet's scale) for len(generators) images of one prompt; image i draws its noise
    from generators[i], so it does not depend on the batch it is in."""
    cond = encode_prompts(
        pipe, [prompt], [negative_prompt or ""], [len(generators)], guidance_scale > 1.0, (height, width)
    )
    return denoise_embeds(
        pipe,
        cond,
        generators=generators,
        steps=steps,
        guidance_scale=guidance_scale,
        width=width,
        height=height,
        on_step=on_step,
        scheduler=scheduler,
    )


@torch.no_grad()
def encode_prompts(
    pipe: DiffusionPipeline,
    prompts: list[str],
    negative_prompts: list[str],
    counts: list[int],
    guided: bool,
    size: tuple[int, int],
) -> Conditioning:
    """Conditioning in loop order for several prompts, in one text-encoder pass each for the prompts and
    the negatives: prompt k stands for counts[k] images of `size` (height, width). An empty negative
    prompt means none (SD: the empty prompt's embedding; SDXL: zeros, as its pipeline does)."""
    family = family_of_pipeline(pipe)
    cond = family.encode(pipe, prompts, size).repeat_rows(counts)
    if not guided:
        return cond
    negative = family.unconditional(pipe, negative_prompts, size).repeat_rows(counts)
    return Conditioning.cat([negative, cond])


@torch.no_grad()
def denoise_embeds(
    pipe: DiffusionPipeline,
    cond: Conditioning,
    *,
    generators: list[torch.Generator],
    steps: int,
    guidance_scale: float,
    width: int,
    height: int,
    on_step: Callable[[int], None] | None = None,
    scheduler: SchedulerMixin | None = None,
) -> torch.Tensor:
    """The denoising loop over conditioning in loop order (one row per image, twice under guidance).
    ``scheduler``: another update rule than the pipeline's own, built from its config."""
    device = pipe.unet.device
    guided = guidance_scale > 1.0
    scheduler = scheduler or pipe.scheduler
    # Ancestral schedulers add fresh noise each step: drawn from each image's own generator (as
    # prepare_latents does), an image stays independent of its batch neighbours.
    takes_generator = "generator" in inspect.signature(scheduler.step).parameters
    step_kwargs = {"generator": generators} if takes_generator else {}
    scheduler.set_timesteps(steps, device=device)
    latents = pipe.prepare_latents(
        len(generators), pipe.unet.config.in_channels, height, width, cond.hidden.dtype, device, generators
    )
    # prepare_latents scales the noise by the pipeline's scheduler; another may start from other sigmas.
    latents = latents / pipe.scheduler.init_noise_sigma * scheduler.init_noise_sigma
    kwargs = cond.unet_kwargs()
    for i, t in enumerate(scheduler.timesteps):
        model_input = torch.cat([latents] * 2) if guided else latents
        model_input = scheduler.scale_model_input(model_input, t)
        noise_pred = pipe.unet(model_input, t, return_dict=False, **kwargs)[0]
        if guided:
            uncond, text = noise_pred.chunk(2)
            noise_pred = uncond + guidance_scale * (text - uncond)
        latents = scheduler.step(noise_pred, t, latents, **step_kwargs, return_dict=False)[0]
        if on_step is not None:
            on_step(i + 1)
    return latents


@torch.no_grad()
def decode(pipe: DiffusionPipeline, latents: torch.Tensor) -> list[Image.Image]:
    vae = pipe.vae
    images = vae.decode(latents.to(vae.dtype) / vae.config.scaling_factor, return_dict=False)[0]
    return pipe.image_processor.postprocess(images, output_type="pil")
