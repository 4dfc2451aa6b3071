from __future__ import annotations

import re
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from imprint.engine import (
    SPECIAL_TOKEN,
    AdapterInfo,
    BadInput,
    BaseModel,
    Cancelled,
    GenerateRequest,
    Generator,
    Progress,
    TrainConfig,
    train_adapter,
)
from imprint.engine.train_config import ALL_LAYER_TARGETS

PROMPT = f"a photo of {SPECIAL_TOKEN} on the beach"
STEPS = 4


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image, dtype=np.int16)


def request(**kwargs) -> GenerateRequest:
    return GenerateRequest(**{"prompt": PROMPT, "steps": STEPS} | kwargs)


@pytest.fixture(scope="module")
def generator(base: BaseModel) -> Generator:
    return Generator(base, max_adapters=2)


def same(a: list[Image.Image], b: list[Image.Image]) -> bool:
    return len(a) == len(b) and all(np.array_equal(pixels(x), pixels(y)) for x, y in zip(a, b, strict=True))


def test_generates_images_of_the_model_size(generator: Generator) -> None:
    images = generator.generate(request(num_images=3))
    assert [(im.mode, im.size) for im in images] == [("RGB", (64, 64))] * 3


def test_same_seed_same_pixels_other_seed_other_pixels(generator: Generator) -> None:
    assert same(generator.generate(request(seed=5)), generator.generate(request(seed=5)))
    assert not same(generator.generate(request(seed=5)), generator.generate(request(seed=6)))


def test_a_request_without_guidance_gets_the_base_models(generator: Generator, base: BaseModel) -> None:
    assert base.guidance_scale == 4.0  # what imprint-tiny exports write into their folder
    default = generator.generate(request(seed=2))
    assert same(default, generator.generate(request(seed=2, guidance_scale=base.guidance_scale)))
    assert not same(default, generator.generate(request(seed=2, guidance_scale=7.5)))
    batched = generator.generate_batch([request(seed=2), request(seed=2, guidance_scale=7.5)])
    assert same(batched[0], default)
    assert generator.batch_key(request()) == generator.batch_key(request(guidance_scale=4.0))


def test_image_i_of_a_batch_uses_seed_plus_i(generator: Generator) -> None:
    batch = generator.generate(request(seed=3, num_images=2))
    alone = generator.generate(request(seed=4))
    assert np.abs(pixels(batch[1]) - pixels(alone[0])).max() <= 1  # batched matmuls may round differently


def test_adapter_changes_the_picture(generator: Generator, dog_adapter: AdapterInfo) -> None:
    plain = generator.generate(request(prompt="a photo of a dog"))
    adapted = generator.generate(request(prompt="a photo of a dog", adapter=dog_adapter.path))
    assert not same(plain, adapted)
    off = generator.generate(request(prompt="a photo of a dog", adapter=dog_adapter.path, adapter_scale=0.0))
    assert same(plain, off)


def test_switching_adapters_back_and_forth_is_exact(
    generator: Generator, dog_adapter: AdapterInfo, cat_adapter: AdapterInfo
) -> None:
    dog = generator.generate(request(adapter=dog_adapter.path))
    plain = generator.generate(request())
    cat = generator.generate(request(adapter=cat_adapter.path))
    assert not same(dog, cat)
    assert same(dog, generator.generate(request(adapter=dog_adapter.path)))
    assert same(plain, generator.generate(request()))
    assert same(cat, generator.generate(request(adapter=cat_adapter.path)))


def test_special_token_inserts_the_subject(generator: Generator, dog_adapter: AdapterInfo) -> None:
    with_marker = generator.generate(request(prompt=f"a photo of {SPECIAL_TOKEN}", adapter=dog_adapter.path))
    without = generator.generate(request(prompt="a photo of", adapter=dog_adapter.path))
    assert not same(with_marker, without)


def test_special_token_without_adapter_is_dropped(generator: Generator) -> None:
    assert same(
        generator.generate(request(prompt=f"a photo of {SPECIAL_TOKEN}")),
        generator.generate(request(prompt="a photo of")),
    )


def test_progress_every_step_and_cancel(generator: Generator) -> None:
    events: list[Progress] = []
    generator.generate(request(), progress=events.append)
    assert [e.done for e in events] == list(range(STEPS + 1))
    assert all(e.steps_per_second and e.eta_seconds is not None for e in events[1:])

    cancel = threading.Event()

    def stop_after_two(p: Progress) -> None:
        if p.done == 2:
            cancel.set()

    with pytest.raises(Cancelled):
        generator.generate(request(steps=20), progress=stop_after_two, cancel=cancel)
    generator.generate(request())  # the lock was released


def test_lru_evicts_and_keeps_timings(base: BaseModel, dog_images, tmp_path: Path) -> None:
    paths = [
        train_adapter(
            base,
            dog_images[:1],
            "dog",
            tmp_path / f"{i}.safetensors",
            TrainConfig(steps=1, seed=i, augment=False),
        ).path
        for i in range(3)
    ]
    gen = Generator(base, max_adapters=2)
    vocabulary = len(gen._pipe.tokenizer)
    for path in paths + paths[:1]:
        gen.generate(request(adapter=path, steps=1))
    stats = gen.stats()
    assert (stats.loads, stats.evictions, stats.hits) == (4, 2, 0)
    assert stats.loaded == (paths[2], paths[0])
    assert stats.mean_load_ms and stats.mean_load_ms > 0 and stats.mean_unload_ms is not None
    gen.generate(request(adapter=paths[0], steps=1))
    assert gen.stats().hits == 1
    assert len(gen._pipe.tokenizer) == vocabulary
    assert len(gen._pipe.unet.peft_config) == 2


def test_rewritten_adapter_file_is_reloaded(base: BaseModel, dog_images, tmp_path: Path) -> None:
    path = tmp_path / "a.safetensors"
    gen = Generator(base, max_adapters=2)
    train_adapter(base, dog_images[:1], "dog", path, TrainConfig(steps=1, augment=False))
    first = gen.generate(request(adapter=path))
    train_adapter(base, dog_images[:1], "dog", path, TrainConfig(steps=1, seed=9, augment=False))
    assert not same(first, gen.generate(request(adapter=path)))


def test_threads_get_the_same_pictures_as_serial_calls(
    generator: Generator, dog_adapter: AdapterInfo
) -> None:
    requests = [request(seed=s, adapter=dog_adapter.path if s % 2 else None) for s in range(4)]
    serial = [generator.generate(r) for r in requests]
    results: dict[int, list[Image.Image]] = {}
    threads = [
        threading.Thread(target=lambda i=i: results.__setitem__(i, generator.generate(requests[i])))
        for i in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(same(serial[i], results[i]) for i in range(4))


@pytest.mark.parametrize(
    "bad", [{"num_images": 0}, {"steps": 0}, {"width": 62}, {"height": 10_000}, {"guidance_scale": -1.0}]
)
def test_bad_requests_are_bad_input(generator: Generator, bad: dict) -> None:
    with pytest.raises(BadInput):
        generator.generate(request(**bad))


def test_missing_or_foreign_adapter_is_bad_input(generator: Generator, tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="does not exist"):
        generator.generate(request(adapter=tmp_path / "none.safetensors"))
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not a safetensors file")
    with pytest.raises(BadInput, match="not a readable adapter"):
        generator.generate(request(adapter=junk))
    generator.generate(request())


def test_weights_return_exactly_to_the_base_after_many_switches(
    base: BaseModel, dog_adapter: AdapterInfo, cat_adapter: AdapterInfo
) -> None:
    gen = Generator(base, max_adapters=2)
    for i in range(30):
        gen._activate(dog_adapter.path if i % 2 else cat_adapter.path, 0.5 + i / 10)
    gen._activate(None, 1.0)
    working = dict(gen._pipe.unet.named_parameters())
    for name, param in base.pipeline.unet.named_parameters():
        peft_name = name.replace(".weight", ".base_layer.weight").replace(".bias", ".base_layer.bias")
        assert torch.equal(param, working.get(name, working.get(peft_name))), name


def test_text_encoder_lora_adapter_serves_and_switches(
    generator: Generator, base: BaseModel, dog_images, dog_adapter: AdapterInfo, tmp_path: Path
) -> None:
    config = TrainConfig(steps=2, train_text_encoder=True, augment=False)
    with_te = train_adapter(base, dog_images[:1], "dog", tmp_path / "te.safetensors", config).path
    first = generator.generate(request(adapter=with_te))
    # The text encoder's LoRA weights are the file's (transformers logs them as missing on injection).
    expected = {
        k.removeprefix("text_encoder.").replace("lora_linear_layer.down", "lora_A").replace(
            "lora_linear_layer.up", "lora_B"): v
        for k, v in load_file(with_te).items() if k.startswith("text_encoder.")
    }
    by_slot: dict[str, dict[str, torch.Tensor]] = {}
    for name, param in generator._pipe.text_encoder.named_parameters():
        if found := re.search(r"\.(slot\d+)\.", name):
            by_slot.setdefault(found[1], {})[name.replace(f".{found[1]}", "")] = param
    assert expected and any(
        set(params) == set(expected) and all(torch.equal(params[k], v) for k, v in expected.items())
        for params in by_slot.values()
    )
    generator.generate(request(adapter=dog_adapter.path))
    plain = generator.generate(request(prompt="a photo of"))
    assert same(first, generator.generate(request(adapter=with_te)))
    assert same(plain, generator.generate(request(prompt="a photo of")))


def test_adapter_with_lora_on_every_layer_loads_every_weight(
    generator: Generator, base: BaseModel, dog_images, tmp_path: Path
) -> None:
    # diffusers' converter renames only the attention keys; a file mixing both layouts lost them on load.
    config = TrainConfig(steps=2, augment=False, unet_targets=ALL_LAYER_TARGETS)
    path = train_adapter(base, dog_images[:1], "dog", tmp_path / "all.safetensors", config).path
    generator.generate(request(adapter=path))
    expected = {k.removeprefix("unet."): v for k, v in load_file(path).items() if k.startswith("unet.")}
    assert any(".conv1." in k for k in expected) and any(".to_q." in k for k in expected)
    by_slot: dict[str, dict[str, torch.Tensor]] = {}
    for name, param in generator._pipe.unet.named_parameters():
        if found := re.search(r"\.(slot\d+)\.", name):
            by_slot.setdefault(found[1], {})[name.replace(f".{found[1]}", "")] = param
    assert any(
        set(params) == set(expected) and all(torch.equal(params[k], v) for k, v in expected.items())
        for params in by_slot.values()
    )


def test_hotswapped_adapter_renders_like_a_fresh_load(
    base: BaseModel, dog_adapter: AdapterInfo, cat_adapter: AdapterInfo
) -> None:
    one_slot = Generator(base, max_adapters=1)
    dog = one_slot.generate(request(adapter=dog_adapter.path, adapter_scale=0.7))
    cat = one_slot.generate(request(adapter=cat_adapter.path))  # same layout: overwrites dog in place
    assert one_slot.stats().evictions == 1 and one_slot.stats().last_unload_ms == 0.0
    assert same(cat, Generator(base).generate(request(adapter=cat_adapter.path)))
    assert same(dog, one_slot.generate(request(adapter=dog_adapter.path, adapter_scale=0.7)))
