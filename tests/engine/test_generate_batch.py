"""Serving several requests in one denoising loop gives each request the images it gets alone."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import imprint.engine.generate as generate_module
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
from imprint.engine.adapter_file import read_adapter
from imprint.engine.request_batch import BatchItem, plan_batches, take_compatible
from imprint.engine.train_config import ALL_LAYER_TARGETS

PROMPT = f"a photo of {SPECIAL_TOKEN} on the beach"
STEPS = 4


def request(**kwargs) -> GenerateRequest:
    return GenerateRequest(**{"prompt": PROMPT, "steps": STEPS} | kwargs)


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image, dtype=np.int16)


def close(a: list[Image.Image], b: list[Image.Image], tolerance: int = 2) -> bool:
    """Within 2/255 per pixel: a shared loop's bigger matmuls may round differently."""
    return len(a) == len(b) and all(
        np.abs(pixels(x) - pixels(y)).max() <= tolerance for x, y in zip(a, b, strict=True)
    )


def same(a: list[Image.Image], b: list[Image.Image]) -> bool:
    return close(a, b, tolerance=0)


def alone(base: BaseModel, r: GenerateRequest) -> list[Image.Image]:
    """The request on a fresh generator: nothing warm that could leak into it."""
    return Generator(base, max_adapters=2).generate(r)


@pytest.fixture(scope="module")
def te_adapter(base: BaseModel, dog_images, tmp_path_factory: pytest.TempPathFactory) -> Path:
    config = TrainConfig(steps=2, train_text_encoder=True, augment=False, seed=3)
    folder = tmp_path_factory.mktemp("te")
    return train_adapter(base, dog_images[:1], "dog", folder / "te.safetensors", config).path


def mixed(dog: AdapterInfo, cat: AdapterInfo) -> list[GenerateRequest]:
    return [
        request(adapter=dog.path, seed=1),
        request(adapter=cat.path, seed=2, num_images=2),
        request(seed=3),
        request(adapter=dog.path, seed=4, adapter_scale=0.5, negative_prompt=f"blurry {SPECIAL_TOKEN}"),
    ]


def test_mixed_adapters_match_each_request_alone(
    base: BaseModel, dog_adapter: AdapterInfo, cat_adapter: AdapterInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    requests = mixed(dog_adapter, cat_adapter)
    latents: list[torch.Tensor] = []
    real_decode = generate_module.decode

    def spy(pipe, batch_latents):
        latents.append(batch_latents.clone())
        return real_decode(pipe, batch_latents)

    monkeypatch.setattr(generate_module, "decode", spy)
    outcomes = Generator(base, max_adapters=2).generate_batch(requests)
    assert len(latents) == 1  # one shared loop
    singles = [alone(base, r) for r in requests]
    for outcome, single in zip(outcomes, singles, strict=True):
        assert not isinstance(outcome, Exception)
        assert close(outcome, single)
    shared, separate = latents[0], torch.cat(latents[1:])
    assert (shared - separate).abs().max() <= 1e-4 * max(1.0, separate.abs().max().item())
    assert not close(outcomes[0], outcomes[3])  # the scale and negative prompt made a difference


def test_same_seeds_same_pixels(base: BaseModel, dog_adapter: AdapterInfo, cat_adapter: AdapterInfo) -> None:
    gen = Generator(base, max_adapters=2)
    first = gen.generate_batch(mixed(dog_adapter, cat_adapter))
    again = gen.generate_batch(mixed(dog_adapter, cat_adapter))
    assert all(same(a, b) for a, b in zip(first, again, strict=True))
    other = gen.generate_batch([request(adapter=dog_adapter.path, seed=9)])[0]
    assert not same(first[0], other)


def test_text_encoder_adapter_stays_with_its_own_requests(
    base: BaseModel, dog_adapter: AdapterInfo, te_adapter: Path
) -> None:
    requests = [request(adapter=te_adapter, seed=1), request(adapter=dog_adapter.path, seed=2)]
    outcomes = Generator(base, max_adapters=2).generate_batch(requests)
    for outcome, r in zip(outcomes, requests, strict=True):
        assert close(outcome, alone(base, r))


def test_fused_adapter_gets_no_text_encoder_lora_of_another(
    base: BaseModel, dog_adapter: AdapterInfo, te_adapter: Path
) -> None:
    gen = Generator(base, max_adapters=2)
    gen.generate(request(adapter=te_adapter))
    r = request(adapter=dog_adapter.path)
    assert np.array_equal(pixels(gen.generate(r)[0]), pixels(alone(base, r)[0]))


def test_one_adapter_for_all_is_served_fused(base: BaseModel, dog_adapter: AdapterInfo) -> None:
    requests = [request(adapter=dog_adapter.path, seed=s) for s in (1, 2)]
    gen = Generator(base, max_adapters=2)
    outcomes = gen.generate_batch(requests)
    assert gen._fuser.is_fused(gen._adapters.peek(dog_adapter.path), 1.0)
    for outcome, r in zip(outcomes, requests, strict=True):
        assert close(outcome, alone(base, r))


def test_progress_per_request_and_one_cancel_spares_the_rest(
    base: BaseModel, dog_adapter: AdapterInfo, cat_adapter: AdapterInfo
) -> None:
    events: dict[int, list[Progress]] = {0: [], 1: []}
    cancel = threading.Event()

    def cancel_at_two(p: Progress) -> None:
        events[1].append(p)
        if p.done == 2:
            cancel.set()

    items = [
        BatchItem(request(adapter=dog_adapter.path, seed=1), progress=events[0].append),
        BatchItem(request(adapter=cat_adapter.path, seed=2), progress=cancel_at_two, cancel=cancel),
    ]
    kept, cancelled = Generator(base, max_adapters=2).generate_batch(items)
    assert [e.done for e in events[0]] == list(range(STEPS + 1))
    assert [e.done for e in events[1]] == [0, 1, 2]
    assert isinstance(cancelled, Cancelled)
    assert close(kept, alone(base, items[0].request))


def test_all_cancelled_stops_the_loop(base: BaseModel, dog_adapter: AdapterInfo) -> None:
    cancel = threading.Event()
    steps: list[int] = []

    def stop(p: Progress) -> None:
        steps.append(p.done)
        if p.done == 1:
            cancel.set()

    items = [BatchItem(request(seed=s, steps=20), progress=stop, cancel=cancel) for s in (1, 2)]
    outcomes = Generator(base).generate_batch(items)
    assert all(isinstance(o, Cancelled) for o in outcomes)
    assert max(steps) == 1


def test_bad_requests_fail_alone(base: BaseModel, dog_adapter: AdapterInfo, tmp_path: Path) -> None:
    requests = [
        request(adapter=dog_adapter.path, seed=1),
        request(steps=0),
        request(adapter=tmp_path / "missing.safetensors"),
        request(seed=2),
    ]
    outcomes = Generator(base, max_adapters=2).generate_batch(requests)
    assert isinstance(outcomes[1], BadInput) and isinstance(outcomes[2], BadInput)
    assert close(outcomes[0], alone(base, requests[0]))
    assert close(outcomes[3], alone(base, requests[3]))


def test_more_adapters_than_slots_and_other_shapes_split_the_batch(
    base: BaseModel, dog_images, dog_adapter: AdapterInfo, cat_adapter: AdapterInfo, tmp_path: Path
) -> None:
    third = train_adapter(
        base, dog_images[:1], "dog", tmp_path / "third.safetensors", TrainConfig(steps=1, augment=False)
    ).path
    requests = [
        request(adapter=dog_adapter.path, seed=1),
        request(adapter=cat_adapter.path, seed=2, steps=3),
        request(adapter=third, seed=3),
        request(adapter=cat_adapter.path, seed=4),
        request(adapter=dog_adapter.path, seed=5, guidance_scale=1.0),
    ]
    gen = Generator(base, max_adapters=2)
    outcomes = gen.generate_batch(requests)
    for outcome, r in zip(outcomes, requests, strict=True):
        assert close(outcome, alone(base, r))
    assert len(gen._pipe.unet.peft_config) <= 2
    assert not any(m._forward_hooks for m in gen._pipe.unet.modules())
    assert not any(m._forward_hooks for m in gen._pipe.text_encoder.modules())


def test_plan_batches_keeps_arrival_order_and_limits() -> None:
    a, b, c = Path("a"), Path("b"), Path("c")
    keys = ["k", "k", "other", "k", "k", "k"]
    adapters = [a, b, a, c, None, a]
    assert plan_batches(keys, adapters, max_adapters=2, max_requests=8) == [[0, 1], [2], [3, 4, 5]]
    assert plan_batches(keys, adapters, max_adapters=8, max_requests=2) == [[0, 1], [2], [3, 4], [5]]


def test_take_compatible_takes_the_head_and_its_kind() -> None:
    queue = [("x", 1), ("y", 2), ("x", 3), ("x", 4), ("y", 5)]
    assert take_compatible(queue, 2, key=lambda item: item[0]) == [("x", 1), ("x", 3)]
    assert queue == [("y", 2), ("x", 4), ("y", 5)]
    assert take_compatible([], 3, key=lambda item: item) == []


def test_controls_split_loops_and_each_request_gets_its_own(
    base: BaseModel, dog_adapter: AdapterInfo
) -> None:
    """Requests differing in scheduler, size or negative prompt: each gets what it gets alone, and only
    those that agree on the loop's shape (steps, guidance, size, scheduler) share one."""
    gen = Generator(base, max_adapters=2)
    requests = [
        request(adapter=dog_adapter.path, seed=1),
        request(adapter=dog_adapter.path, seed=1, scheduler="euler_a", num_images=2),
        request(adapter=dog_adapter.path, seed=1, negative_prompt="a cat"),
        request(adapter=dog_adapter.path, seed=1, width=96, height=48, scheduler="ddim"),
    ]
    keys = [gen.batch_key(r) for r in requests]
    assert keys[0] == keys[2] and len({keys[0], keys[1], keys[3]}) == 3
    outcomes = gen.generate_batch(requests)
    for r, outcome in zip(requests, outcomes, strict=True):
        assert isinstance(outcome, list) and close(outcome, alone(base, r)), r
    assert outcomes[3][0].size == (96, 48)
    assert not same(outcomes[0], outcomes[1][:1]) and not same(outcomes[0], outcomes[2])
    # Ancestral noise comes from each image's own generator: image 1 is what seed + 1 gives alone.
    assert close(outcomes[1][1:], alone(base, request(adapter=dog_adapter.path, seed=2, scheduler="euler_a")))


def test_a_peft_per_sample_lora_cannot_read_falls_back_to_one_by_one(
    base: BaseModel, dog_adapter: AdapterInfo, cat_adapter: AdapterInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The documented fallback: each request fused on its own, same images, nothing lost."""
    import imprint.engine.batched_lora as batched_lora

    monkeypatch.setattr(batched_lora, "PEFT_LAYER_FIELDS", (*batched_lora.PEFT_LAYER_FIELDS, "not_in_peft"))
    requests = [request(adapter=dog_adapter.path, seed=1), request(adapter=cat_adapter.path, seed=2)]
    outcomes = Generator(base, max_adapters=2).generate_batch(requests)
    for r, images in zip(requests, outcomes, strict=True):
        assert not isinstance(images, Exception), images
        assert close(images, alone(base, r))


@pytest.fixture(scope="module")
def conv_adapters(base: BaseModel, dog_images, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Adapters with LoRA on the convolutions too (the captioned recipe's layers), ranks 4 and 2 (the
    stacked kernels pad the smaller), trained hard enough in 3 steps for their deltas to show."""
    folder = tmp_path_factory.mktemp("conv")
    paths = []
    for rank, seed in ((4, 5), (2, 6)):
        config = TrainConfig(steps=3, rank=rank, seed=seed, learning_rate=5e-2, augment=False,
                             unet_targets=ALL_LAYER_TARGETS)
        out = folder / f"conv{rank}.safetensors"
        paths.append(train_adapter(base, dog_images[:2], "dog", out, config).path)
    return paths


def test_mixed_conv_lora_adapters_match_each_request_alone(base: BaseModel,
                                                          conv_adapters: list[Path]) -> None:
    # The convolutions carry LoRA that is far from zero (peft starts B at zero), so a wrong kernel,
    # row or scale in the stacked convolution path would show in the pixels.
    for path in conv_adapters:
        _, lora, _ = read_adapter(path)
        conv_b = [t for k, t in lora.items() if "resnets" in k and "conv1.lora_B" in k]
        assert conv_b and max(t.abs().max().item() for t in conv_b) > 1e-2
    requests = [request(adapter=conv_adapters[0], seed=1), request(adapter=conv_adapters[1], seed=2),
                request(seed=3), request(adapter=conv_adapters[0], seed=4, adapter_scale=0.5)]
    outcomes = Generator(base, max_adapters=2).generate_batch(requests)
    singles = [alone(base, r) for r in requests]
    for outcome, single in zip(outcomes, singles, strict=True):
        assert not isinstance(outcome, Exception)
        assert close(outcome, single)
