"""A leaner attention forward for the UNet's attention layers, which a training step calls hundreds
of times.

At imprint-tiny's size much of a training step is per-call cost, not arithmetic: an attention block
at 4x4 latents does ~40 MFLOP but took ~2.5 ms forward on one CPU thread (measured), much of it in
diffusers' general attention code (a `/ rescale_output_factor` of 1.0, `inspect.signature` on every
call) and in the autograd nodes those extra ops add to the backward pass. The replacement computes
the same function with fewer ops, only for the configurations it was checked against (anything else
keeps its stock forward), and lets several samples of one caption share its keys and values.

peft's LoRA layers keep peft's own forward: a leaner one read peft's layer internals
(`lora_variant`, `merged`, `scaling`), and what it gained was within the 1.2x that would justify
depending on them (docs/engine-performance.md).

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
from torch import nn


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
    """Installs the lean attention forward throughout `model`.

    Returns True when every attention layer took the lean one: only then may the model be given an
    `encoder_hidden_states` with fewer rows than the batch, each row standing for batch/rows consecutive
    samples, so that cross-attention projects each distinct caption once instead of once per sample.
    """
    every_attention = True
    for module in model.modules():
        if isinstance(module, Attention):
            every_attention &= lean_attention(module)
    return every_attention
