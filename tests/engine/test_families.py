"""SD 1.5 and SDXL architectures (tiny random weights, tests/families_kit.py) through the engine:
family detection and refusal, training, generation (single, batched with several adapters), and
exports that reload in plain diffusers pipelines and draw imprint's images."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from diffusers import DiffusionPipeline, DPMSolverMultistepScheduler
from families_kit import save_flux_shaped, save_not_a_pipeline, save_tiny_sd15, save_tiny_sdxl
from PIL import Image
from safetensors.torch import load as load_bytes
from safetensors.torch import load_file

from imprint.engine import (
    AdapterInfo,
    BadInput,
    BaseModel,
    BaseModelNotFound,
    Cancelled,
    GenerateRequest,
    Generator,
    TrainConfig,
    train_adapter,
)
from imprint.engine.adapter_file import TOKEN_KEY, TOKEN_KEY_2
from imprint.engine.export import README, export_adapter, trigger_word
from imprint.engine.families import UnsupportedBaseModel, detect_family

pytestmark = pytest.mark.slow

PROMPT = "a <special-token> on a beach"
STEPS = 3


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("families")
    return {"sd": save_tiny_sd15(root / "sd15"), "sdxl": save_tiny_sdxl(root / "sdxl")}


@pytest.fixture(scope="module")
def bases(folders: dict[str, Path]) -> dict[str, BaseModel]:
    return {name: BaseModel.load(folder) for name, folder in folders.items()}


@pytest.fixture(scope="module")
def adapters(
    bases: dict[str, BaseModel], dog_images: list[Image.Image], tmp_path_factory: pytest.TempPathFactory
) -> dict[tuple[str, str], AdapterInfo]:
    """Per family, a dog (UNet + both text encoders' LoRA) and a cat (UNet only)."""
    out = tmp_path_factory.mktemp("family-adapters")
    made = {}
    for name, base in bases.items():
        made[name, "dog"] = train_adapter(
            base, dog_images, "dog", out / f"{name}-dog.safetensors",
            TrainConfig(steps=STEPS, train_text_encoder=True, learning_rate=5e-3, token_learning_rate=5e-2),
        )
        made[name, "cat"] = train_adapter(
            base, dog_images[:2], "cat", out / f"{name}-cat.safetensors",
            TrainConfig(steps=STEPS, seed=1, learning_rate=5e-3),
        )
    return made


@pytest.fixture(scope="module")
def generators(bases: dict[str, BaseModel]) -> dict[str, Generator]:
    return {name: Generator(base) for name, base in bases.items()}


def _pixels(images: list[Image.Image]) -> np.ndarray:
    return np.stack([np.asarray(i, dtype=np.float32) for i in images])


def test_families_are_read_from_model_index(folders: dict[str, Path], bases: dict[str, BaseModel]) -> None:
    assert detect_family(folders["sd"]).name == "sd" and detect_family(folders["sdxl"]).name == "sdxl"
    assert bases["sd"].family.name == "sd" and bases["sdxl"].family.name == "sdxl"
    # SDXL keeps both text encoders and tokenizers (a StableDiffusionPipeline would drop the second).
    sdxl = bases["sdxl"].pipeline
    assert sdxl.text_encoder_2 is not None and sdxl.tokenizer_2 is not None
    assert bases["sd"].image_size == bases["sdxl"].image_size == 64  # unet sample size x VAE scale
    # Without imprint.json, each family's pipeline default guidance.
    assert bases["sd"].guidance_scale == 7.5 and bases["sdxl"].guidance_scale == 5.0


def test_flux_and_non_pipeline_folders_are_refused(tmp_path: Path) -> None:
    flux = save_flux_shaped(tmp_path / "flux")
    with pytest.raises(UnsupportedBaseModel, match="FluxPipeline") as refused:
        BaseModel.load(flux)
    assert "StableDiffusionPipeline (SD 1.x/2.x)" in str(refused.value)
    assert "StableDiffusionXLPipeline (SDXL)" in str(refused.value)
    lone = save_not_a_pipeline(tmp_path / "unet-only")
    with pytest.raises(UnsupportedBaseModel, match="not a diffusers pipeline folder"):
        detect_family(lone)
    with pytest.raises(BaseModelNotFound, match="not found"):
        detect_family(tmp_path / "nothing-here")


def _prefixes(tensors: dict[str, torch.Tensor]) -> set[str]:
    return {k.split(".", 1)[0] for k in tensors if not k.startswith("imprint_")}


def test_sdxl_adapter_carries_both_encoders(bases, adapters: dict[tuple[str, str], AdapterInfo]) -> None:
    tensors = load_file(adapters["sdxl", "dog"].path)
    assert tensors[TOKEN_KEY].shape == (1, 32) and tensors[TOKEN_KEY_2].shape == (1, 32)
    assert _prefixes(tensors) == {"unet", "text_encoder", "text_encoder_2"}
    sd_tensors = load_file(adapters["sd", "dog"].path)
    assert TOKEN_KEY_2 not in sd_tensors and _prefixes(sd_tensors) == {"unet", "text_encoder"}


@pytest.mark.parametrize("family", ["sd", "sdxl"])
def test_identifier_rows_train_in_every_text_encoder(family: str, bases, adapters) -> None:
    """Also with text-encoder LoRA, whose injection freezes everything else in the encoder."""
    tensors = load_file(adapters[family, "dog"].path)
    pipe = bases[family].pipeline
    parts = [(TOKEN_KEY, pipe.tokenizer, pipe.text_encoder)]
    if family == "sdxl":
        parts.append((TOKEN_KEY_2, pipe.tokenizer_2, pipe.text_encoder_2))
    for key, tokenizer, encoder in parts:
        ids = tokenizer("dog", add_special_tokens=False).input_ids
        start = encoder.get_input_embeddings().weight[ids].mean(0)
        moved = (tensors[key][0] - start).norm()
        # Adam moves each coordinate by at most about the learning rate a step.
        assert 0.01 * start.norm() < moved <= STEPS * 5e-2 * start.numel() ** 0.5, (key, moved)


@pytest.mark.parametrize("family", ["sd", "sdxl"])
def test_generation_is_deterministic_and_uses_the_adapter(
    family: str, generators: dict[str, Generator], adapters: dict[tuple[str, str], AdapterInfo]
) -> None:
    gen = generators[family]
    dog = adapters[family, "dog"].path
    first = gen.generate(GenerateRequest(PROMPT, adapter=dog, steps=STEPS, seed=5, num_images=2))
    again = gen.generate(GenerateRequest(PROMPT, adapter=dog, steps=STEPS, seed=5, num_images=2))
    assert np.array_equal(_pixels(first), _pixels(again))
    # Image i of a request is seed + i, whatever the request it is in.
    single = gen.generate(GenerateRequest(PROMPT, adapter=dog, steps=STEPS, seed=6))
    assert np.abs(_pixels(single) - _pixels(first[1:])).max() <= 1
    plain = gen.generate(GenerateRequest(PROMPT, steps=STEPS, seed=5, num_images=2))
    assert np.abs(_pixels(first) - _pixels(plain)).mean() > 1


def test_sdxl_progress_and_cancel(generators: dict[str, Generator], adapters) -> None:
    events = []
    gen = generators["sdxl"]
    gen.generate(GenerateRequest(PROMPT, adapter=adapters["sdxl", "dog"].path, steps=STEPS),
                 progress=events.append)
    assert [e.done for e in events] == [0, 1, 2, 3] and events[-1].stage == "generating"
    cancel = threading.Event()

    def stop(progress) -> None:
        if progress.done == 1:
            cancel.set()

    with pytest.raises(Cancelled):
        gen.generate(GenerateRequest(PROMPT, adapter=adapters["sdxl", "dog"].path, steps=STEPS),
                     progress=stop, cancel=cancel)


@pytest.mark.parametrize("family", ["sd", "sdxl"])
def test_several_adapters_share_one_loop(
    family: str, generators: dict[str, Generator], adapters: dict[tuple[str, str], AdapterInfo]
) -> None:
    """Per-sample LoRA on both families (SDXL: both text encoders' LoRA too) gives each request the
    image it gets alone."""
    gen = generators[family]
    requests = [
        GenerateRequest(PROMPT, adapter=adapters[family, "dog"].path, steps=STEPS, seed=1),
        GenerateRequest(PROMPT, adapter=adapters[family, "cat"].path, steps=STEPS, seed=2),
        GenerateRequest(PROMPT, steps=STEPS, seed=3, negative_prompt="blurry"),
        GenerateRequest(PROMPT, adapter=adapters[family, "dog"].path, steps=STEPS, seed=4, adapter_scale=0.5),
    ]
    together = gen.generate_batch(requests)
    for request, images in zip(requests, together, strict=True):
        assert not isinstance(images, Exception), images
        alone = gen.generate(request)
        assert np.abs(_pixels(images) - _pixels(alone)).max() <= 2


def test_an_adapter_of_another_family_is_refused(generators, adapters) -> None:
    with pytest.raises(BadInput, match="does not fit this SDXL model"):
        generators["sdxl"].generate(GenerateRequest(PROMPT, adapter=adapters["sd", "dog"].path, steps=1))
    with pytest.raises(BadInput, match="does not fit this SD 1.x/2.x model"):
        generators["sd"].generate(GenerateRequest(PROMPT, adapter=adapters["sdxl", "dog"].path, steps=1))


def test_server_wide_width_and_height(folders: dict[str, Path]) -> None:
    base = BaseModel.load(folders["sdxl"], width=128, height=64)
    images = Generator(base).generate(GenerateRequest("a dog", steps=1))
    assert images[0].size == (128, 64)


def test_sdxl_trains_in_bfloat16_autocast(folders: dict[str, Path], dog_images, tmp_path: Path) -> None:
    """The half-precision path CUDA takes (autocast, fp32 LoRA weights), on the CPU in bf16."""
    base = BaseModel.load(folders["sdxl"], dtype="bf16")
    info = train_adapter(base, dog_images[:1], "dog", tmp_path / "bf16.safetensors",
                         TrainConfig(steps=2, gradient_checkpointing=True, train_text_encoder=True))
    tensors = load_file(info.path)
    assert all(torch.isfinite(t).all() for t in tensors.values())
    assert all(t.dtype == torch.float32 for t in tensors.values())


def _plain(folder: Path) -> DiffusionPipeline:
    pipe = DiffusionPipeline.from_pretrained(folder, local_files_only=True)
    pipe.scheduler = DPMSolverMultistepScheduler.from_config(
        pipe.scheduler.config, algorithm_type="dpmsolver++"
    )
    pipe.set_progress_bar_config(disable=True)
    return pipe


@pytest.mark.parametrize("family,fmt", [("sd", "kohya"), ("sdxl", "kohya"), ("sdxl", "diffusers")])
def test_exports_reload_in_plain_diffusers(
    family: str, fmt: str, folders, bases, generators, adapters, tmp_path: Path
) -> None:
    adapter = adapters[family, "dog"]
    data = adapter.path.read_bytes()
    files = export_adapter(data, fmt=fmt, base_model=bases[family])
    trigger = trigger_word(data)
    for name, content in files.items():
        (tmp_path / name).write_bytes(content)
    weights = next(n for n in files if n not in (README, f"{trigger}.safetensors"))
    if fmt == "kohya":
        keys = load_bytes(files[weights])
        expected = {"lora_unet", "lora_te1", "lora_te2"} if family == "sdxl" else {"lora_unet", "lora_te1"}
        assert {"_".join(k.split("_", 2)[:2]) for k in keys} == expected

    ours = generators[family].generate(GenerateRequest(PROMPT, adapter=adapter.path, steps=STEPS, seed=9))
    pipe = _plain(folders[family])
    pipe.load_lora_weights(str(tmp_path), weight_name=weights)
    embedding = tmp_path / f"{trigger}.safetensors"
    if family == "sdxl":
        rows = load_file(embedding)
        assert set(rows) == {"clip_l", "clip_g"}
        pipe.load_textual_inversion(rows["clip_l"], token=trigger, text_encoder=pipe.text_encoder,
                                    tokenizer=pipe.tokenizer)
        pipe.load_textual_inversion(rows["clip_g"], token=trigger, text_encoder=pipe.text_encoder_2,
                                    tokenizer=pipe.tokenizer_2)
    else:
        pipe.load_textual_inversion(str(embedding), token=trigger)
    prompt = PROMPT.replace("<special-token>", f"{trigger} dog")
    theirs = pipe(prompt, num_inference_steps=STEPS, guidance_scale=bases[family].guidance_scale,
                  generator=[torch.Generator().manual_seed(9)]).images
    assert np.abs(_pixels(ours) - _pixels(theirs)).max() <= 3
    pipe.unload_lora_weights()
    without = pipe(prompt, num_inference_steps=STEPS, guidance_scale=bases[family].guidance_scale,
                   generator=[torch.Generator().manual_seed(9)]).images
    assert np.abs(_pixels(ours) - _pixels(without)).mean() > 1  # the LoRA was loaded and matters
