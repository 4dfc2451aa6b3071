"""The engine at real sizes: SD 1.5 at 512 px and SDXL at 1024 px, random weights, on a GPU.

Run: .venv/bin/python benchmarks/gpu_engine.py [--family sd15|sdxl|both] [--device cuda]
     .venv/bin/python benchmarks/gpu_engine.py --tiny      (CPU smoke run: tiny shapes, few steps)

The pipelines are built from the published configs written out below (runwayml/stable-diffusion-v1-5
and stabilityai/stable-diffusion-xl-base-1.0: UNet, VAE, CLIP text encoders) with random weights:
the same layers at the same sizes take the same time and memory whatever their values. Nothing is
downloaded; the tokenizer is imprint-tiny's CLIP-format one padded to 77 positions (token ids only
index the embedding table, so the vocabulary does not change the cost). With --tiny every width and
depth is cut down so the whole script runs in a minute or two on a CPU (a smoke test, tests/perf).

Measured per family, all in this one process and on this one device:
1. Training s/step and peak memory (CUDA: torch.cuda.max_memory_allocated) of
   - ours: `engine.train_adapter` (latents and caption embeddings encoded once, see engine/train.py);
   - the recipe diffusers documents (examples/dreambooth/train_dreambooth_lora(_sdxl).py): every
     step VAE-encodes the batch's pixels and runs the text encoder(s) over the batch's captions.
   Same rank, batch, resolution, LoRA targets, identifier rows, precision (fp16 autocast + fp32
   LoRA weights on CUDA) and gradient checkpointing (on for CUDA, as ours defaults). Goal: >= 2x
   faster at <= the recipe's memory.
2. Serving 8 adapters interleaved (round robin, one image per request, 25 DPM-Solver++ steps):
   images/s of ours batched (`Generator.generate_batch`, per-sample LoRA), ours sequential (fused
   switching), load/unload per request in a plain diffusers pipeline (`load_lora_weights` +
   `load_textual_inversion`, generate, unload), and no adapter (batched and sequential). Goals:
   ours >= 3x load/unload, and within 10% of no adapter.
3. One personalization's wall time with the default recipe (`recipe_for`): photos -> adapter file.
No timed asserts anywhere: this prints figures and ratios (docs/engine-performance.md).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from diffusers import (
    AutoencoderKL,
    DDPMScheduler,
    DPMSolverMultistepScheduler,
    EulerDiscreteScheduler,
    PNDMScheduler,
    StableDiffusionPipeline,
    StableDiffusionXLPipeline,
    UNet2DConditionModel,
)
from PIL import Image
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer

from imprint.engine import BaseModel, GenerateRequest, Generator, Progress, TrainConfig, train_adapter
from imprint.engine.adapter_file import read_adapter
from imprint.engine.families import family_of_pipeline
from imprint.engine.identifier import IDENTIFIER_TOKEN, add_identifier
from imprint.engine.images import augmented_views, prepare_images
from imprint.engine.train import TEXT_ENCODER_TARGETS, _add_lora
from imprint.engine.train_config import recipe_for
from imprint.engine.train_data import pixels, scale_latents
from imprint.tiny.tokenizer import save_tokenizer
from imprint.world.render import render
from imprint.world.subject import Subject

OBJECT_TYPE = "dog"
SD_SCHEDULE = dict(
    num_train_timesteps=1000,
    beta_start=0.00085,
    beta_end=0.012,
    beta_schedule="scaled_linear",
    steps_offset=1,
)

# Published configs (model_index components' config.json), the fields that shape compute.
SD15_UNET = dict(
    sample_size=64,
    in_channels=4,
    out_channels=4,
    layers_per_block=2,
    block_out_channels=(320, 640, 1280, 1280),
    down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
    up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3,
    cross_attention_dim=768,
    attention_head_dim=8,
    norm_num_groups=32,
)
SDXL_UNET = dict(
    sample_size=128,
    in_channels=4,
    out_channels=4,
    layers_per_block=2,
    block_out_channels=(320, 640, 1280),
    down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
    up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
    transformer_layers_per_block=(1, 2, 10),
    attention_head_dim=(5, 10, 20),
    use_linear_projection=True,
    cross_attention_dim=2048,
    addition_embed_type="text_time",
    addition_time_embed_dim=256,
    projection_class_embeddings_input_dim=2816,
    norm_num_groups=32,
)
VAE = dict(
    in_channels=3,
    out_channels=3,
    latent_channels=4,
    layers_per_block=2,
    block_out_channels=(128, 256, 512, 512),
    down_block_types=("DownEncoderBlock2D",) * 4,
    up_block_types=("UpDecoderBlock2D",) * 4,
    norm_num_groups=32,
)
CLIP_L = dict(
    hidden_size=768,
    intermediate_size=3072,
    num_hidden_layers=12,
    num_attention_heads=12,
    hidden_act="quick_gelu",
    projection_dim=768,
)
CLIP_BIG_G = dict(
    hidden_size=1280,
    intermediate_size=5120,
    num_hidden_layers=32,
    num_attention_heads=20,
    hidden_act="gelu",
    projection_dim=1280,
)


def _tiny(config: dict[str, Any]) -> dict[str, Any]:
    """The same architecture at a few channels and layers (for --tiny)."""
    out = dict(config)
    if "block_out_channels" in out:
        out["block_out_channels"] = tuple(
            16 * (2 ** min(i, 1)) for i in range(len(out["block_out_channels"]))
        )
        out["norm_num_groups"] = 8
    if "sample_size" in out and "down_block_types" in out and "addition_embed_type" not in out:
        out["sample_size"] = 8
    if out.get("addition_embed_type"):
        out.update(
            sample_size=8,
            transformer_layers_per_block=(1, 1, 2),
            attention_head_dim=(2, 4, 4),
            cross_attention_dim=64,
            addition_time_embed_dim=8,
            projection_class_embeddings_input_dim=80,
        )
    elif "cross_attention_dim" in out:
        out["cross_attention_dim"] = 32
    if "hidden_size" in out:
        out.update(
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=2,
            num_attention_heads=2,
            projection_dim=32,
        )
    if "latent_channels" in out:
        out.update(block_out_channels=(8, 8, 16, 16), layers_per_block=1, norm_num_groups=8)
    return out


def _tokenizer(folder: Path) -> CLIPTokenizer:
    save_tokenizer(folder)
    config_path = folder / "tokenizer_config.json"
    config = json.loads(config_path.read_text())
    config["model_max_length"] = 77  # CLIP's positions, as SD's and SDXL's tokenizers have
    config_path.write_text(json.dumps(config))
    return CLIPTokenizer.from_pretrained(folder)


def _text_encoder(cls: type, tokenizer: CLIPTokenizer, shape: dict[str, Any]) -> torch.nn.Module:
    return cls(
        CLIPTextConfig(
            vocab_size=49408,
            max_position_embeddings=77,
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
            **shape,
        )
    )


def build_base(family: str, tiny: bool, device: str, dtype: str | None, work: Path) -> BaseModel:
    """A random-weight pipeline of the family's published shape, held as imprint's BaseModel."""
    shape = _tiny if tiny else (lambda c: c)
    torch.manual_seed(0)
    tokenizer = _tokenizer(work / f"{family}-tokenizer")
    if family == "sd15":
        pipe = StableDiffusionPipeline(
            vae=AutoencoderKL(**shape(VAE), scaling_factor=0.18215),
            text_encoder=_text_encoder(CLIPTextModel, tokenizer, shape(CLIP_L)),
            tokenizer=tokenizer,
            unet=UNet2DConditionModel(**shape(SD15_UNET)),
            scheduler=PNDMScheduler(**SD_SCHEDULE, skip_prk_steps=True),
            safety_checker=None,
            feature_extractor=None,
            requires_safety_checker=False,
        )
    else:
        pipe = StableDiffusionXLPipeline(
            vae=AutoencoderKL(**shape(VAE), scaling_factor=0.13025, force_upcast=True),
            text_encoder=_text_encoder(CLIPTextModel, tokenizer, shape(CLIP_L)),
            text_encoder_2=_text_encoder(CLIPTextModelWithProjection, tokenizer, shape(CLIP_BIG_G)),
            tokenizer=tokenizer,
            tokenizer_2=tokenizer,
            unet=UNet2DConditionModel(**shape(SDXL_UNET)),
            scheduler=EulerDiscreteScheduler(**SD_SCHEDULE, timestep_spacing="leading"),
            force_zeros_for_empty_prompt=True,
            add_watermarker=False,
        )
    torch_dtype = torch_dtype_for(device, dtype)
    pipe.to(device, torch_dtype)
    if family == "sdxl" and torch_dtype == torch.float16:
        pipe.vae.to(torch.float32)  # as families/sdxl.py keeps SDXL's VAE
    pipe.set_progress_bar_config(disable=True)
    fam = family_of_pipeline(pipe)
    for module in (pipe.unet, pipe.vae, *fam.text_encoders(pipe)):
        module.requires_grad_(False)
        module.eval()
    return BaseModel(
        pipe, family=fam, name=f"random-{family}{'-tiny' if tiny else ''}", device=device, dtype=torch_dtype
    )


def torch_dtype_for(device: str, dtype: str | None) -> torch.dtype:
    if dtype:
        return {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[dtype]
    return torch.float16 if device.startswith("cuda") else torch.float32


def photos(count: int = 5) -> list[Image.Image]:
    subject = Subject("dog", "brown", "spotted", "scarf", "red")
    scenes = ["beach", "snow", "forest", "city", "room"]
    return [render(subject, scenes[i % len(scenes)], seed=i).resize((512, 512)) for i in range(count)]


class Meter:
    """Wall time between marks, and the device's peak memory over the whole measurement."""

    def __init__(self, device: torch.device) -> None:
        self.device, self.marks = device, []
        if device.type == "cuda":
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats(device)

    def mark(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        self.marks.append(time.perf_counter())

    def per_step(self) -> float:
        """From the end of step 1 to the end of the last: first-call costs excluded."""
        return (self.marks[-1] - self.marks[1]) / max(1, len(self.marks) - 2)

    def peak_mb(self) -> float:
        if self.device.type == "cuda":
            return torch.cuda.max_memory_allocated(self.device) / 2**20
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # process peak: not per run


def train_ours(base: BaseModel, config: TrainConfig, out: Path) -> Meter:
    meter = Meter(base.device)
    meter.mark()

    def on_progress(p: Progress) -> None:
        if p.stage == "training" and p.done > 0:
            meter.mark()

    train_adapter(base, photos(), OBJECT_TYPE, out, config, progress=on_progress)
    return meter


def train_recipe(base: BaseModel, config: TrainConfig) -> Meter:
    """diffusers' documented DreamBooth-LoRA loop: encode pixels and captions every step."""
    meter = Meter(base.device)
    meter.mark()
    family, device = base.family, base.device
    size = (base.image_size, base.image_size)
    prepared = prepare_images(photos(), base.image_size)
    views = [v for p in prepared for v in augmented_views(p, base.image_size, augment=config.augment)]
    generator = torch.Generator().manual_seed(config.seed)
    pipe = base.working_pipeline()
    encoders = family.text_encoders(pipe)
    identifiers = [
        add_identifier(t, e, OBJECT_TYPE) for t, e in zip(family.tokenizers(pipe), encoders, strict=True)
    ]
    lora = _add_lora(pipe.unet, list(config.unet_targets), config, generator)
    if config.train_text_encoder:
        for encoder in encoders:
            lora += _add_lora(encoder, TEXT_ENCODER_TARGETS, config, generator)
    rows = [i.row for i in identifiers]
    for row in rows:
        row.requires_grad_(True)
    if config.checkpointing(device):
        pipe.unet.enable_gradient_checkpointing()
    optimizer = torch.optim.AdamW(
        [
            {"params": lora, "lr": config.learning_rate, "weight_decay": config.weight_decay},
            {"params": rows, "lr": config.token_learning_rate, "weight_decay": 0.0},
        ]
    )
    autocast = torch.autocast(device.type, dtype=base.dtype, enabled=base.dtype != torch.float32)
    scaler = torch.amp.GradScaler(device.type, enabled=base.dtype == torch.float16)
    scheduler = DDPMScheduler.from_config(base.pipeline.scheduler.config)
    caption = config.instance_template.format(identifier=IDENTIFIER_TOKEN, object_type=OBJECT_TYPE)
    pipe.unet.train()
    for _ in range(config.steps or 1):
        index = torch.randint(len(views), (config.batch_size,), generator=generator)
        with autocast:
            with torch.no_grad():
                batch = pixels([views[i] for i in index]).to(device, pipe.vae.dtype)
                dist = pipe.vae.encode(batch).latent_dist
                noise_in = torch.randn(dist.mean.shape, generator=generator).to(device, dist.mean.dtype)
                latents = scale_latents(pipe.vae, dist.mean + dist.std * noise_in).to(base.dtype)
            cond = family.encode_ids(encoders, family.token_ids(pipe, [caption] * config.batch_size), size)
            noise = torch.randn(latents.shape, generator=generator).to(device, latents.dtype)
            t = torch.randint(
                0, scheduler.config.num_train_timesteps, (latents.shape[0],), generator=generator
            )
            t = t.to(device)
            pred = pipe.unet(
                scheduler.add_noise(latents, noise, t), t, return_dict=False, **cond.unet_kwargs()
            )[0]
        loss = F.mse_loss(pred.float(), noise.float())
        scaler.scale(loss).backward()
        scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(lora + rows, config.max_grad_norm)
        scaler.step(optimizer)
        scaler.update()
        optimizer.zero_grad(set_to_none=True)
        meter.mark()
    return meter


def training(base: BaseModel, args: argparse.Namespace, work: Path) -> None:
    config = TrainConfig(steps=args.train_steps, batch_size=args.batch, rank=args.rank)
    results = {}
    for _ in range(args.rounds):  # alternating, so drift on the machine falls on both alike
        for name, run in (
            ("ours", lambda: train_ours(base, config, work / "bench.safetensors")),
            ("recipe", lambda: train_recipe(base, config)),
        ):
            meter = run()
            results.setdefault(name, []).append((meter.per_step(), meter.peak_mb()))
    summary = {k: (min(s for s, _ in v), max(m for _, m in v)) for k, v in results.items()}
    (ours_s, ours_mb), (recipe_s, recipe_mb) = summary["ours"], summary["recipe"]
    print(
        f"  training, batch {args.batch}, rank {args.rank}, {base.image_size} px, {args.train_steps} steps "
        f"(best of {args.rounds}):"
    )
    print(f"    ours            {ours_s:8.3f} s/step   peak {ours_mb:9.1f} MiB")
    print(f"    diffusers recipe{recipe_s:8.3f} s/step   peak {recipe_mb:9.1f} MiB")
    memory = "device memory" if base.device.type == "cuda" else "process RSS, not per run"
    print(
        f"    speed-up {recipe_s / ours_s:.2f}x (goal >= 2x), memory ours/recipe {ours_mb / recipe_mb:.2f} "
        f"({memory}; goal <= 1)"
    )


def serving(base: BaseModel, args: argparse.Namespace, work: Path) -> None:
    adapters = []
    for i in range(8):  # eight distinct adapters: a step of training each, different seeds
        config = TrainConfig(steps=1, seed=i, batch_size=1, rank=args.rank)
        adapters.append(train_adapter(base, photos(1), OBJECT_TYPE, work / f"a{i}.safetensors", config).path)
    prompt = "a photo of <special-token> on a beach"
    requests = [
        GenerateRequest(prompt, adapter=adapters[i % 8], steps=args.sample_steps, seed=i)
        for i in range(args.requests)
    ]
    plain = [
        GenerateRequest("a photo of a dog on a beach", steps=args.sample_steps, seed=i)
        for i in range(args.requests)
    ]
    generator = Generator(base, max_adapters=8)
    generator.generate_batch(requests[:8])  # warm: every adapter loaded once, as on a running server

    def timed(run: Callable[[], None]) -> float:
        if base.device.type == "cuda":
            torch.cuda.synchronize(base.device)
        start = time.perf_counter()
        run()
        if base.device.type == "cuda":
            torch.cuda.synchronize(base.device)
        return args.requests / (time.perf_counter() - start)

    def batched(queue: list[GenerateRequest]) -> None:
        for start in range(0, len(queue), 8):
            generator.generate_batch(queue[start : start + 8])

    def sequential(queue: list[GenerateRequest]) -> None:
        for request in queue:
            generator.generate(request)

    baseline = _plain_pipeline(base)

    def load_unload() -> None:
        for request in requests:
            baseline(request)

    rates = {
        "ours batched": timed(lambda: batched(requests)),
        "ours sequential": timed(lambda: sequential(requests)),
        "load/unload": timed(load_unload),
        "no adapter batched": timed(lambda: batched(plain)),
        "no adapter sequential": timed(lambda: sequential(plain)),
    }
    print(
        f"  serving 8 adapters round robin, {args.requests} requests, 1 image of {base.width} px, "
        f"{args.sample_steps} steps:"
    )
    for name, rate in rates.items():
        print(f"    {name:<22} {rate:8.3f} images/s")
    print(
        f"    ours batched / load-unload {rates['ours batched'] / rates['load/unload']:.2f}x (goal >= 3x); "
        f"ours batched / no adapter batched {rates['ours batched'] / rates['no adapter batched']:.3f} "
        f"(goal >= 0.9); ours sequential / no adapter sequential "
        f"{rates['ours sequential'] / rates['no adapter sequential']:.3f}"
    )


def _plain_pipeline(base: BaseModel) -> Callable[[GenerateRequest], None]:
    """Stock diffusers per request: load the adapter's LoRA and identifier, generate, unload."""
    pipe = base.family.working_pipeline(
        base.pipeline,
        DPMSolverMultistepScheduler.from_config(base.pipeline.scheduler.config, algorithm_type="dpmsolver++"),
    )
    pipe.set_progress_bar_config(disable=True)
    tokenizers, encoders = base.family.tokenizers(pipe), base.family.text_encoders(pipe)

    def run(request: GenerateRequest) -> None:
        metadata, _, rows = read_adapter(request.adapter)
        token = "imprint_bench"
        pipe.load_lora_weights(str(request.adapter), adapter_name="request")
        for row, tokenizer, encoder in zip(rows, tokenizers, encoders, strict=True):
            pipe.load_textual_inversion(row, token=token, tokenizer=tokenizer, text_encoder=encoder)
        pipe(
            request.prompt.replace("<special-token>", f"{token} {metadata['object_type']}"),
            num_inference_steps=request.steps,
            guidance_scale=base.guidance_scale,
            generator=[torch.Generator().manual_seed(request.seed)],
        )
        pipe.unload_lora_weights()
        for tokenizer, encoder in zip(tokenizers, encoders, strict=True):
            pipe.unload_textual_inversion(token, tokenizer=tokenizer, text_encoder=encoder)

    return run


def personalization(base: BaseModel, args: argparse.Namespace, work: Path) -> None:
    config = recipe_for(base, None)
    if args.personalize_steps:
        config.steps = args.personalize_steps
    start = time.perf_counter()
    train_adapter(base, photos(), OBJECT_TYPE, work / "personal.safetensors", config)
    if base.device.type == "cuda":
        torch.cuda.synchronize(base.device)
    print(
        f"  one personalization, default recipe ({config.steps} steps, rank {config.rank}, batch "
        f"{config.batch_size}, 5 photos): {time.perf_counter() - start:.1f} s wall"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--family", choices=["sd15", "sdxl", "both"], default="both")
    parser.add_argument("--tiny", action="store_true", help="tiny shapes on the CPU: a smoke run")
    parser.add_argument("--device", default=None, help="default: cuda if available, else cpu")
    parser.add_argument("--dtype", choices=["fp32", "fp16", "bf16"], default=None)
    parser.add_argument("--train-steps", type=int, default=None, help="default 30 (--tiny: 3)")
    parser.add_argument(
        "--rounds", type=int, default=None, help="alternating runs each; default 2 (--tiny: 1)"
    )
    parser.add_argument("--batch", type=int, default=TrainConfig.batch_size)
    parser.add_argument("--rank", type=int, default=TrainConfig.rank)
    parser.add_argument("--requests", type=int, default=None, help="default 32 (--tiny: 8)")
    parser.add_argument("--sample-steps", type=int, default=None, help="default 25 (--tiny: 2)")
    parser.add_argument(
        "--personalize-steps", type=int, default=None, help="default: the recipe's (--tiny: 2)"
    )
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (--tiny: 1)")
    args = parser.parse_args()
    if args.threads or args.tiny:
        torch.set_num_threads(args.threads or 1)  # tiny ops on a shared CPU: threads mostly wait
    device = args.device or ("cuda" if torch.cuda.is_available() and not args.tiny else "cpu")
    args.train_steps = args.train_steps or (3 if args.tiny else 30)
    args.rounds = args.rounds or (1 if args.tiny else 2)
    args.requests = args.requests or (8 if args.tiny else 32)
    args.sample_steps = args.sample_steps or (2 if args.tiny else 25)
    args.personalize_steps = args.personalize_steps or (2 if args.tiny else None)
    name = torch.cuda.get_device_name(device) if device.startswith("cuda") else "CPU"
    print(f"device: {name}; torch {torch.__version__}; {'tiny shapes' if args.tiny else 'published shapes'}")
    families = ["sd15", "sdxl"] if args.family == "both" else [args.family]
    with tempfile.TemporaryDirectory(prefix="imprint-gpu-bench-") as tmp:
        work = Path(tmp)
        for family in families:
            base = build_base(family, args.tiny, device, args.dtype, work)
            unet_params = sum(p.numel() for p in base.pipeline.unet.parameters())
            print(f"{family}: {base.image_size} px, UNet {unet_params / 1e6:.1f} M parameters, {base.dtype}")
            training(base, args, work)
            serving(base, args, work)
            personalization(base, args, work)
            del base
    sys.stdout.flush()


if __name__ == "__main__":
    main()
