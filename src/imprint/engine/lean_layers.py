"""Leaner forward passes for the layers a LoRA training step calls hundreds of times.

At imprint-tiny's size much of a training step is per-call cost, not arithmetic: an attention block
at 4x4 latents does ~40 MFLOP but took ~2.5 ms forward on one CPU thread (measured), most of it in
peft's and diffusers' general forward code (adapter bookkeeping, a `* scaling` of 1.0, a
`/ rescale_output_factor` of 1.0, `inspect.signature` on every attention call) and in the autograd
nodes those extra ops add to the backward pass. The replacements below compute the same function
with fewer ops, and only for the configurations they were checked against; anything else keeps its
stock forward.

They are installed on a trainer's private copy of the UNet (instance attributes, not class patches),
so generation and other trainers are untouched. Parameters, names and state-dict keys stay as they
are, so the adapter file is written exactly as before.
"""

from __future__ import annotations

import math
from types import MethodType

import torch
import torch.nn.functional as F
from diffusers.models.attention_processor import Attention, AttnProcessor, AttnProcessor2_0
from peft.tuners.lora import Linear as LoraLinear
from torch import nn


def _lean_lora_forward(self: LoraLinear, x: torch.Tensor) -> torch.Tensor:
    base: nn.Linear = self.base_layer
    a = self.lora_A["default"].weight
    b = self.lora_B["default"].weight
    rows = x.reshape(-1, x.shape[-1])
    # One fused multiply-add for the low-rank path instead of peft's linear, scale and add.
    out = F.linear(rows, base.weight, base.bias)
    out = torch.addmm(out, rows.mm(a.t()), b.t(), alpha=self._lean_scale)
    return out.view(*x.shape[:-1], out.shape[-1])


def lean_lora_linear(module: nn.Module) -> bool:
    """Swaps in the lean forward for a plain single-adapter LoRA Linear; False (untouched) otherwise."""
    if not isinstance(module, LoraLinear) or not isinstance(module.base_layer, nn.Linear):
        return False
    if (
        list(module.lora_A) != ["default"]
        or module.merged
        or module.disable_adapters
        or module.lora_variant
        or module.fan_in_fan_out
        or not isinstance(module.lora_dropout["default"], nn.Identity)
        # A half-precision base with fp32 LoRA weights relies on peft's casts: keep its forward.
        or module.base_layer.weight.dtype != module.lora_A["default"].weight.dtype
    ):
        return False
    # Read once: the trainer never rescales its adapter.
    module._lean_scale = float(module.scaling["default"])
    module.forward = MethodType(_lean_lora_forward, module)
    return True


def _lean_attention_forward(
    self: Attention,
    hidden_states: torch.Tensor,
    encoder_hidden_states: torch.Tensor | None = None,
    attention_mask: torch.Tensor | None = None,
    **kwargs: object,
) -> torch.Tensor:
    if attention_mask is not None or kwargs or hidden_states.ndim != 3:
        return self._stock_forward(hidden_states, encoder_hidden_states, attention_mask, **kwargs)
    batch, length, _ = hidden_states.shape
    context = hidden_states if encoder_hidden_states is None else encoder_hidden_states
    heads = self.heads
    query = self.to_q(hidden_states)
    key = self.to_k(context)
    value = self.to_v(context)
    head_dim = query.shape[-1] // heads
    distinct = context.shape[0]
    # With a context of fewer distinct rows than the batch (see `streamline`), the samples that share a
    # row share its keys and values: their queries are stacked into one longer sequence per row, which
    # is the same attention (each query row attends independently) without repeating keys or values.
    query = query.reshape(distinct, -1, heads, head_dim).transpose(1, 2)
    key = key.view(distinct, -1, heads, head_dim).transpose(1, 2)
    value = value.view(distinct, -1, heads, head_dim).transpose(1, 2)
    out = F.scaled_dot_product_attention(query, key, value)
    out = out.transpose(1, 2).reshape(batch, length, heads * head_dim)
    return self.to_out[0](out)


def lean_attention(attn: nn.Module) -> bool:
    """Swaps in the lean forward for a plain SD attention layer; False (untouched) otherwise."""
    if not isinstance(attn, Attention) or not isinstance(attn.processor, AttnProcessor | AttnProcessor2_0):
        return False
    dropout = attn.to_out[1] if len(attn.to_out) > 1 else None
    head_dim = attn.inner_dim // attn.heads
    if (
        attn.spatial_norm is not None
        or attn.group_norm is not None
        or attn.norm_cross
        or attn.norm_q is not None
        or attn.norm_k is not None
        or attn.residual_connection
        or attn.rescale_output_factor != 1.0
        or not math.isclose(attn.scale, head_dim**-0.5)
        or (dropout is not None and not (isinstance(dropout, nn.Dropout) and dropout.p == 0.0))
    ):
        return False
    attn._stock_forward = attn.forward
    attn.forward = MethodType(_lean_attention_forward, attn)
    return True


def streamline(model: nn.Module) -> bool:
    """Installs the lean forwards throughout `model`.

    Returns True when every attention layer took the lean one: only then may the model be given an
    `encoder_hidden_states` with fewer rows than the batch, each row standing for batch/rows consecutive
    samples, so that cross-attention projects each distinct caption once instead of once per sample.
    """
    every_attention = True
    for module in model.modules():
        if isinstance(module, Attention):
            every_attention &= lean_attention(module)
        else:
            lean_lora_linear(module)
    return every_attention
