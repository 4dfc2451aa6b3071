"""Serving one warm adapter at a time fused into the weights, so its denoising loop runs at base speed.

Unfused, every LoRA-wrapped projection does two extra small matmuls and some Python per call (UNet
forward +10-15% on imprint-tiny). Fusing costs one B@A per projection once per adapter switch instead.

Through diffusers' public LoRA API only: `set_adapters` (which adapter, at which scale), `enable_lora`
/ `disable_lora`, `fuse_lora(adapter_names=...)` / `unfuse_lora`. Those walk every module of the
model per call; measured against calling peft's layer methods directly from a list collected once
(`benchmarks/lora_switching.py`, docs/engine-performance.md), which was the earlier path here.
Unfusing subtracts the delta it added, which in floating point does not give the original weights
back bit for bit; after thousands of switches the drift would change pixels for a fixed seed, so
`unfuse` also copies the base model's untouched weights back into every LoRA-wrapped layer.
"""

from __future__ import annotations

import torch
from diffusers import DiffusionPipeline
from peft.tuners.lora import LoraLayer
from torch import nn

from imprint.engine.adapter_cache import AdapterCache, WarmAdapter
from imprint.engine.families import family_of_pipeline

_Layers = list[tuple[LoraLayer, nn.Module]]  # (LoRA layer in the working model, same layer in the base)


class Fuser:
    def __init__(self, pipe: DiffusionPipeline, pristine: DiffusionPipeline, cache: AdapterCache) -> None:
        self._pipe, self._pristine, self._cache = pipe, pristine, cache
        self._components = ("unet", *family_of_pipeline(pipe).text_components())
        self._fused: tuple[WarmAdapter, float] | None = None
        self._enabled: bool | None = None  # LoRA layers switched on (None: unknown, after a load)
        self._loads_seen = -1
        self._layers: dict[str, _Layers] = {}

    def is_fused(self, adapter: WarmAdapter | None, scale: float) -> bool:
        return adapter is not None and self._fused == (adapter, scale)

    @torch.no_grad()
    def fuse(self, adapter: WarmAdapter, scale: float) -> None:
        """Makes `adapter` at `scale` the fused one (no-op when it already is)."""
        if self._fused == (adapter, scale):
            return
        self.unfuse()
        # The only active adapter everywhere: a component it has no LoRA in gets no active adapter, so
        # another adapter's text-encoder LoRA, say, is not added to this adapter's requests.
        self._pipe.set_adapters([adapter.name], adapter_weights=[scale])
        self._set_enabled(True)  # disabled LoRA layers would unmerge themselves on their next forward
        self._pipe.fuse_lora(components=list(adapter.components), adapter_names=[adapter.name])
        self._fused = (adapter, scale)

    @torch.no_grad()
    def unfuse(self) -> None:
        """Back to the exact base weights; whether LoRA layers are enabled is left as it is."""
        if self._fused is None:
            return
        components = list(self._fused[0].components)
        self._pipe.unfuse_lora(components=components)
        for component in components:
            for layer, original in self._layers_of(component):
                base_layer = layer.get_base_layer()
                base_layer.weight.copy_(original.weight)
                if getattr(base_layer, "bias", None) is not None:
                    base_layer.bias.copy_(original.bias)
        self._fused = None

    def clear(self) -> None:
        """Base weights with LoRA layers switched off: the state for requests without an adapter, and the
        one per-sample LoRA (batched_lora) adds its deltas to."""
        self.unfuse()
        self._set_enabled(False)

    def text_lora_layers(self) -> list[LoraLayer]:
        """The LoRA layers of every text encoder (one for SD, two for SDXL)."""
        return [layer for component in self._components[1:] for layer in self.lora_layers(component)]

    def lora_layers(self, component: str) -> list[LoraLayer]:
        """The component's LoRA layers, from the list collected once per adapter load."""
        return [layer for layer, _ in self._layers_of(component)]

    def _set_enabled(self, enabled: bool) -> None:
        self._refresh()
        if not self._cache.any_loaded() or self._enabled is enabled:
            return  # enable_lora/disable_lora walk every module: skipped when nothing changes
        if enabled:
            self._pipe.enable_lora()
        else:
            self._pipe.disable_lora()
        self._enabled = enabled

    def _refresh(self) -> None:
        """Loading an adapter may wrap more modules, and leaves the new layers enabled."""
        if self._cache.loads != self._loads_seen:
            self._loads_seen, self._enabled, self._layers = self._cache.loads, None, {}

    def _layers_of(self, component: str) -> _Layers:
        self._refresh()
        if component not in self._layers:
            working, pristine = getattr(self._pipe, component), getattr(self._pristine, component)
            self._layers[component] = [
                (module, pristine.get_submodule(name))
                for name, module in working.named_modules()
                if isinstance(module, LoraLayer)
            ]
        return self._layers[component]
