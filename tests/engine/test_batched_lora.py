"""Per-sample LoRA on a toy peft model: each row gets exactly its own adapter's delta."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from peft import LoraConfig, inject_adapter_in_model
from peft.tuners.lora import LoraLayer
from torch import nn

from imprint.engine.adapter_cache import WarmAdapter
from imprint.engine.batched_lora import PerSampleLoRA


class Toy(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.proj = nn.Linear(6, 5)
        self.conv = nn.Conv2d(3, 4, 3, padding=1)

    def forward(self, x: torch.Tensor, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.proj(x), self.conv(image)


pytestmark = pytest.mark.filterwarnings("ignore:Already found a `peft_config`")


def warm(name: str) -> WarmAdapter:
    return WarmAdapter(path=Path(f"{name}.safetensors"), name=name, subject="", components=(), layout=())


@pytest.fixture()
def toy() -> Toy:
    torch.manual_seed(0)
    model = Toy().eval()
    # Different ranks and alphas, and the second adapter misses the conv: padding and absent layers.
    inject_adapter_in_model(LoraConfig(r=2, lora_alpha=4, target_modules=["proj", "conv"]), model, "a")
    inject_adapter_in_model(LoraConfig(r=3, lora_alpha=3, target_modules=["proj"]), model, "b")
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "lora_B" in name:  # peft starts B at zero: make the deltas visible
                param.copy_(torch.randn(param.shape))
    return model


def layers(model: nn.Module) -> list[LoraLayer]:
    return [m for m in model.modules() if isinstance(m, LoraLayer)]


def reference(model: Toy, adapter: str | None, scale: float, x, image):
    """peft's own forward with one adapter active at `scale`."""
    for layer in layers(model):
        if adapter is None:
            layer.enable_adapters(False)
        else:
            layer.enable_adapters(True)
            layer.set_adapter(adapter)
            layer.set_scale(adapter, scale)
    return model(x, image)


def test_each_row_gets_its_own_adapter(toy: Toy) -> None:
    a, b = warm("a"), warm("b")
    choices = [(a, 1.0), (b, 0.5), (a, 0.3)]
    rows = torch.tensor([1, 0, 2, 3, 2])
    x, image = torch.randn(5, 7, 6), torch.randn(5, 3, 4, 4)
    expected_x, expected_image = [], []
    for k in rows.tolist():
        adapter, scale = (None, 1.0) if k == 0 else (choices[k - 1][0].name, choices[k - 1][1])
        ex, ei = reference(toy, adapter, scale, x, image)
        expected_x.append(ex[len(expected_x)])
        expected_image.append(ei[len(expected_image)])

    for layer in layers(toy):
        layer.enable_adapters(False)  # the state Fuser.clear leaves: base layers only
    with PerSampleLoRA(layers(toy), choices) as lora:
        lora.route(rows)
        got_x, got_image = toy(x, image)
    torch.testing.assert_close(got_x, torch.stack(expected_x), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(got_image, torch.stack(expected_image), rtol=1e-5, atol=1e-5)

    plain_x, _ = toy(x, image)  # hooks gone on exit
    torch.testing.assert_close(plain_x, toy.proj.base_layer(x))
    assert not any(layer._forward_hooks for layer in layers(toy))


def test_a_batch_routed_for_other_rows_is_refused(toy: Toy) -> None:
    for layer in layers(toy):
        layer.enable_adapters(False)
    with PerSampleLoRA(layers(toy), [(warm("a"), 1.0)]) as lora:
        lora.route(torch.tensor([1, 0]))
        with pytest.raises(RuntimeError, match="routed for 2 rows"):
            toy(torch.randn(3, 2, 6), torch.randn(3, 3, 4, 4))


def test_choices_absent_from_every_layer_add_no_hooks(toy: Toy) -> None:
    lora = PerSampleLoRA(layers(toy), [(warm("nobody"), 1.0)])
    assert not lora.active


def test_installed_peft_holds_what_per_sample_lora_reads(toy: Toy) -> None:
    """Fails loudly on a peft this module was not checked against: per-sample LoRA reads peft's layer
    state (no public API batches adapters per sample in a diffusers model)."""
    import importlib.metadata

    from imprint.engine.batched_lora import PEFT_LAYER_FIELDS, TESTED_PEFT

    version = importlib.metadata.version("peft")
    numbers = tuple(int(part) for part in version.split(".")[:3] if part.isdigit())
    low, high = TESTED_PEFT
    assert low <= numbers < high, (
        f"peft {version} is outside the releases engine/batched_lora.py was checked on "
        f"({'.'.join(map(str, low))} up to {'.'.join(map(str, high))}): check what it reads "
        f"({', '.join(PEFT_LAYER_FIELDS)}) and widen TESTED_PEFT"
    )
    for layer in layers(toy):
        missing = [field for field in PEFT_LAYER_FIELDS if not hasattr(layer, field)]
        assert not missing, f"peft {version}'s {type(layer).__name__} has no {missing}"


def test_a_peft_without_those_fields_makes_the_batch_unbatchable(
    toy: Toy, monkeypatch: pytest.MonkeyPatch
) -> None:
    from imprint.engine.batched_lora import Unbatchable

    monkeypatch.delattr(layers(toy)[0], "lora_variant")
    with pytest.raises(Unbatchable, match="have no lora_variant"):
        PerSampleLoRA(layers(toy), [(warm("a"), 1.0)])
