"""The trainer's lean forwards compute what the stock peft/diffusers forwards compute, gradients included."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from diffusers.models.attention_processor import Attention
from safetensors.torch import load_file

import imprint.engine.train as trainer
from imprint.engine import BaseModel, TrainConfig, train_adapter
from imprint.engine.lean_layers import lean_attention, streamline
from imprint.engine.train import TEXT_ENCODER_TARGETS, _add_lora
from imprint.engine.train_config import ALL_LAYER_TARGETS, ATTENTION_TARGETS

BATCH = 4


def _lora_unet(
    base: BaseModel, targets: tuple[str, ...] = ATTENTION_TARGETS
) -> tuple[torch.nn.Module, list[torch.nn.Parameter]]:
    unet = copy.deepcopy(base.pipeline.unet)
    params = _add_lora(unet, list(targets), TrainConfig(), torch.Generator().manual_seed(0))
    # peft starts lora_B at zero; non-zero B makes the low-rank path matter in this comparison.
    with torch.no_grad():
        for name, param in unet.named_parameters():
            if "lora_B" in name:
                param.normal_(0, 0.05, generator=torch.Generator().manual_seed(len(name)))
    unet.train()
    return unet, params


def _loss_and_grads(
    unet: torch.nn.Module, params: list[torch.nn.Parameter], context: torch.Tensor, seed: int = 0
) -> tuple[torch.Tensor, list[torch.Tensor], torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    size = unet.config.sample_size
    sample = torch.randn(BATCH, unet.config.in_channels, size, size, generator=generator)
    timesteps = torch.randint(0, 1000, (BATCH,), generator=generator)
    context = context.detach().requires_grad_(True)
    pred = unet(sample, timesteps, context, return_dict=False)[0]
    loss = F.mse_loss(pred, torch.randn(pred.shape, generator=generator))
    loss.backward()
    grads = [p.grad.clone() for p in params]
    for p in params:
        p.grad = None
    return loss.detach(), grads, context.grad


def _context(base: BaseModel, rows: int) -> torch.Tensor:
    config = base.pipeline.text_encoder.config
    length = base.pipeline.tokenizer.model_max_length
    return torch.randn(rows, length, config.hidden_size, generator=torch.Generator().manual_seed(3))


@pytest.mark.parametrize("targets", [ATTENTION_TARGETS, ALL_LAYER_TARGETS], ids=["attention", "all"])
def test_streamlined_unet_matches_stock_loss_and_gradients(base: BaseModel, targets: tuple[str, ...]) -> None:
    stock, stock_params = _lora_unet(base, targets)
    lean, lean_params = _lora_unet(base, targets)
    assert streamline(lean)
    context = _context(base, 1).expand(BATCH, -1, -1)
    loss, grads, context_grad = _loss_and_grads(stock, stock_params, context)
    lean_loss, lean_grads, lean_context_grad = _loss_and_grads(lean, lean_params, context)
    torch.testing.assert_close(lean_loss, loss)
    for got, want in zip(lean_grads, grads, strict=True):
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(lean_context_grad, context_grad, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("distinct", [1, 2])
def test_one_context_row_per_caption_equals_one_per_sample(base: BaseModel, distinct: int) -> None:
    unet, params = _lora_unet(base)
    assert streamline(unet)
    rows = _context(base, distinct)
    per_sample = rows.repeat_interleave(BATCH // distinct, dim=0)
    loss, grads, per_sample_grad = _loss_and_grads(unet, params, per_sample)
    shared_loss, shared_grads, shared_grad = _loss_and_grads(unet, params, rows)
    torch.testing.assert_close(shared_loss, loss)
    for got, want in zip(shared_grads, grads, strict=True):
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-6)
    # The context's gradient is the per-sample one summed over each caption's samples.
    want = per_sample_grad.view(distinct, BATCH // distinct, *rows.shape[1:]).sum(dim=1)
    torch.testing.assert_close(shared_grad, want, rtol=1e-4, atol=1e-6)


def test_adapter_keys_and_parameters_are_unchanged(base: BaseModel) -> None:
    stock, _ = _lora_unet(base)
    lean, _ = _lora_unet(base)
    streamline(lean)
    assert stock.state_dict().keys() == lean.state_dict().keys()
    assert [n for n, p in stock.named_parameters() if p.requires_grad] == [
        n for n, p in lean.named_parameters() if p.requires_grad
    ]


def test_text_encoder_lora_matches_stock(base: BaseModel) -> None:
    encoders = [copy.deepcopy(base.pipeline.text_encoder) for _ in range(2)]
    for encoder in encoders:
        _add_lora(encoder, TEXT_ENCODER_TARGETS, TrainConfig(), torch.Generator().manual_seed(0))
    # CLIP's attention is transformers', left as it is, and peft's LoRA layers keep their forward.
    streamline(encoders[1])
    assert not any("forward" in vars(m) for m in encoders[1].modules())
    ids = torch.randint(0, 100, (2, base.pipeline.tokenizer.model_max_length), generator=torch.Generator())
    stock, lean = (encoder(ids, return_dict=False)[0] for encoder in encoders)
    torch.testing.assert_close(lean, stock)


def test_unusual_layers_keep_their_stock_forward() -> None:
    residual = Attention(query_dim=32, heads=4, dim_head=8, residual_connection=True)
    assert not lean_attention(residual)
    assert "forward" not in vars(residual)
    rescaled = Attention(query_dim=32, heads=4, dim_head=8, rescale_output_factor=2.0)
    assert not lean_attention(rescaled)


@pytest.mark.parametrize(
    "config",
    [
        TrainConfig(steps=3),
        TrainConfig(
            steps=3, prior_preservation=True, num_class_images=2, class_image_steps=2, train_text_encoder=True
        ),
    ],
    ids=["default", "prior-and-text-encoder"],
)
def test_trainer_matches_the_stock_layers_and_optimizer(
    base: BaseModel, dog_images, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config: TrainConfig
) -> None:
    lean = load_file(train_adapter(base, dog_images, "dog", tmp_path / "lean.safetensors", config).path)
    monkeypatch.setattr(trainer, "streamline", lambda model: False)
    monkeypatch.setattr(trainer, "FUSED_ADAMW_DEVICES", ())
    stock = load_file(train_adapter(base, dog_images, "dog", tmp_path / "stock.safetensors", config).path)
    assert lean.keys() == stock.keys()
    for key in stock:
        torch.testing.assert_close(lean[key], stock[key], rtol=1e-4, atol=1e-5, msg=key)
