"""Per-sample LoRA: one forward over a batch whose rows each use their own warm adapter.

What multi-LoRA servers (S-LoRA, Punica, LoRAX) do: the base weights stay unfused and every LoRA layer
adds, to each row of the batch, the delta of that row's adapter, so requests for different adapters
share one UNet forward per step instead of taking turns with fused weights. For a peft `Linear` layer
the warm adapters' A and B matrices are stacked once per batch (B pre-multiplied by the adapter's
scaling, ranks zero-padded to the largest) and each row's pair is gathered, so the delta is two
`torch.bmm` calls whatever the number of adapters; peft's own mixed-batch forward (`adapter_names`)
instead loops over the adapters in Python, slicing and re-scattering the batch in every layer. A
`Conv2d` layer's A kernels are gathered the same way and applied as one grouped convolution (a group
per row), its 1x1 B as one `bmm`. Anything else takes that per-adapter loop here too. Index 0 is "no
adapter": zero matrices.

The layers must be disabled (`Fuser.clear`), so that peft's forward is the base layer alone; the
deltas come from forward hooks that `PerSampleLoRA` removes on exit, leaving the layers as they were.

No public API serves several adapters per sample in one diffusers UNet forward: peft's mixed-batch
`adapter_names` reaches a layer only through a `PeftModel`'s forward, which diffusers' models are
not. So this module reads the state peft keeps on each LoRA layer (PEFT_LAYER_FIELDS). Every layer
is checked for those fields; a peft whose layers lack one makes the batch Unbatchable, and the
generator then serves each request on its own, fused, through diffusers' public LoRA API (the
documented fallback). tests/engine/test_batched_lora.py fails on a peft outside TESTED_PEFT.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType

import torch
import torch.nn.functional as F
from peft.tuners.lora import LoraLayer
from torch import nn
from torch.utils.hooks import RemovableHandle

from imprint.engine.adapter_cache import WarmAdapter

Choice = tuple[WarmAdapter, float]  # an adapter and the scale it is applied at
# What this module reads of a peft LoRA layer: per adapter name its A and B modules, dropout, rank,
# alpha, rsLoRA flag, and the variant table (DoRA and such, which it cannot batch).
PEFT_LAYER_FIELDS = ("lora_A", "lora_B", "lora_dropout", "r", "lora_alpha", "use_rslora", "lora_variant")
# peft releases these fields were checked on, from the first to the first one not yet checked.
TESTED_PEFT = ((0, 17, 0), (0, 22, 0))


class Unbatchable(Exception):
    """An adapter uses a LoRA variant (DoRA, ...) whose delta is not A-then-B, or the installed peft's
    layers do not hold what this module reads: serve each request on its own, fused, instead."""


class _Deltas:
    """One layer's per-row delta for the batch's choices (row index k >= 1 is choices[k - 1])."""

    def __init__(self, layer: LoraLayer, choices: Sequence[Choice]) -> None:
        self.layer = layer
        missing = [field for field in PEFT_LAYER_FIELDS if not hasattr(layer, field)]
        if missing:
            raise Unbatchable(f"this peft's {type(layer).__name__} layers have no {', '.join(missing)}")
        self.names: list[tuple[int, str, float]] = []  # (index, peft name, scaling) present in this layer
        for k, (adapter, scale) in enumerate(choices, start=1):
            if adapter.name not in layer.lora_A:
                continue
            if adapter.name in layer.lora_variant:
                raise Unbatchable(
                    f"adapter {adapter.path.name} uses a LoRA variant in {type(layer).__name__}"
                )
            self.names.append((k, adapter.name, _unit_scaling(layer, adapter.name) * scale))
        self.stacks = self._stack(len(choices) + 1) if self.names and self._linear() else None
        self.conv_stacks = self._stack_conv(len(choices) + 1) if self.names and self._conv() else None
        self._rows: torch.Tensor | None = None
        self._gathered: tuple[torch.Tensor, torch.Tensor] | None = None

    def _linear(self) -> bool:
        return all(
            isinstance(self.layer.lora_A[name], nn.Linear)
            and isinstance(self.layer.lora_B[name], nn.Linear)
            and self.layer.lora_B[name].bias is None
            and isinstance(self.layer.lora_dropout[name], nn.Identity | nn.Dropout)
            for _, name, _ in self.names
        )

    def _conv(self) -> bool:
        """2-D convolution LoRA that one grouped convolution can apply: every adapter's A with the same
        geometry (peft copies the base layer's kernel, stride and padding), B a plain 1x1."""
        first = self.layer.lora_A[self.names[0][1]]

        def geometry(conv: nn.Conv2d) -> tuple:
            return conv.kernel_size, conv.stride, conv.padding, conv.dilation

        return all(
            type(self.layer.lora_A[name]) is nn.Conv2d
            and type(self.layer.lora_B[name]) is nn.Conv2d
            and geometry(self.layer.lora_A[name]) == geometry(first)
            and self.layer.lora_A[name].groups == 1
            and self.layer.lora_A[name].padding_mode == "zeros"
            and self.layer.lora_B[name].kernel_size == (1, 1)
            and self.layer.lora_B[name].stride == (1, 1)
            and self.layer.lora_B[name].groups == 1
            and self.layer.lora_B[name].bias is None
            and isinstance(self.layer.lora_dropout[name], nn.Identity | nn.Dropout)
            for _, name, _ in self.names
        )

    def _stack_conv(self, size: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(stacked A kernels: size x r x in x kh x kw, stacked scaled B: size x out x r), zero for absent
        choices and padded ranks."""
        first = self.layer.lora_A[self.names[0][1]].weight
        rank = max(self.layer.lora_A[name].weight.shape[0] for _, name, _ in self.names)
        out_channels = self.layer.lora_B[self.names[0][1]].weight.shape[0]
        a_all = first.new_zeros(size, rank, *first.shape[1:])
        b_all = first.new_zeros(size, out_channels, rank)
        for k, name, scaling in self.names:
            a, b = self.layer.lora_A[name].weight, self.layer.lora_B[name].weight
            a_all[k, : a.shape[0]] = a
            b_all[k, :, : b.shape[1]] = b[:, :, 0, 0] * scaling
        return a_all, b_all

    def _stack(self, size: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(stacked A^T: size x in x r, stacked scaled B^T: size x r x out), zero for absent choices."""
        first = self.layer.lora_A[self.names[0][1]].weight
        rank = max(self.layer.lora_A[name].weight.shape[0] for _, name, _ in self.names)
        in_features = first.shape[1]
        out_features = self.layer.lora_B[self.names[0][1]].weight.shape[0]
        a_t = first.new_zeros(size, in_features, rank)
        b_t = first.new_zeros(size, rank, out_features)
        for k, name, scaling in self.names:
            a, b = self.layer.lora_A[name].weight, self.layer.lora_B[name].weight
            a_t[k, :, : a.shape[0]] = a.T
            b_t[k, : b.shape[1], :] = (b * scaling).T
        return a_t, b_t

    def route(self, rows: torch.Tensor) -> None:
        self._rows, self._gathered = rows, None

    def __call__(self, module: nn.Module, args: tuple, output: torch.Tensor) -> torch.Tensor:
        x, rows = args[0], self._rows
        if rows is None or x.shape[0] != rows.shape[0]:
            routed = None if rows is None else rows.shape[0]
            raise RuntimeError(f"per-sample LoRA routed for {routed} rows, got a batch of {x.shape[0]}")
        if self.conv_stacks is not None:
            return output + self._grouped(x, rows, output)
        if self.stacks is None:
            return output + self._looped(x, rows, output)
        if self._gathered is None:  # once per routing: the UNet reuses it at every denoising step
            self._gathered = (self.stacks[0][rows], self.stacks[1][rows])
        a_rows, b_rows = self._gathered
        flat = x.reshape(x.shape[0], -1, x.shape[-1]).to(a_rows.dtype)
        delta = torch.bmm(torch.bmm(flat, a_rows), b_rows)
        return output + delta.reshape(output.shape).to(output.dtype)

    def _grouped(self, x: torch.Tensor, rows: torch.Tensor, output: torch.Tensor) -> torch.Tensor:
        """Each row through its own A kernels (one convolution with a group per row), then its own B."""
        assert self.conv_stacks is not None
        if self._gathered is None:  # once per routing, as for linear layers
            a_all, b_all = self.conv_stacks
            a_rows = a_all[rows]
            self._gathered = (a_rows.reshape(-1, *a_rows.shape[2:]), b_all[rows])
        kernels, b_rows = self._gathered
        conv = self.layer.lora_A[self.names[0][1]]
        batch = x.shape[0]
        hidden = F.conv2d(x.to(kernels.dtype).reshape(1, -1, *x.shape[2:]), kernels, stride=conv.stride,
                          padding=conv.padding, dilation=conv.dilation, groups=batch)
        delta = torch.bmm(b_rows, hidden.reshape(batch, b_rows.shape[2], -1))
        return delta.reshape(output.shape).to(output.dtype)

    def _looped(self, x: torch.Tensor, rows: torch.Tensor, output: torch.Tensor) -> torch.Tensor:
        delta = torch.zeros_like(output)
        for k, name, scaling in self.names:
            picked = (rows == k).nonzero().flatten()
            if picked.numel():
                lora_a, lora_b = self.layer.lora_A[name], self.layer.lora_B[name]
                part = lora_b(lora_a(x[picked].to(lora_a.weight.dtype))) * scaling
                delta[picked] = part.to(delta.dtype)
        return delta


def _unit_scaling(layer: LoraLayer, name: str) -> float:
    """The adapter's scaling at scale 1 (alpha / r, or alpha / sqrt(r) for rsLoRA), without the scale
    the fused path last set on the layer."""
    rank = layer.r[name]
    return layer.lora_alpha[name] / (rank**0.5 if layer.use_rslora.get(name, False) else rank)


class PerSampleLoRA:
    """Context manager: while open, the given LoRA layers of one model add each row's own adapter delta.

    `route(rows)` says which choice each row of the next forwards uses: 0 for none, k for choices[k - 1].
    """

    def __init__(self, layers: Sequence[LoraLayer], choices: Sequence[Choice]) -> None:
        deltas = [_Deltas(layer, choices) for layer in layers]
        self._deltas = [d for d in deltas if d.names]
        self._handles: list[RemovableHandle] = []

    @property
    def active(self) -> bool:
        """Whether any of the choices has LoRA weights in these layers."""
        return bool(self._deltas)

    def route(self, rows: torch.Tensor) -> None:
        for delta in self._deltas:
            delta.route(rows.to(delta.layer.lora_A[delta.names[0][1]].weight.device))

    def __enter__(self) -> PerSampleLoRA:
        self._handles = [d.layer.register_forward_hook(d) for d in self._deltas]
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []
        for delta in self._deltas:  # drop the stacks with the batch, not with the next one
            delta.stacks, delta.conv_stacks, delta._gathered, delta._rows = None, None, None, None
