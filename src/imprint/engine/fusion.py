"""Serving one warm adapter at a time fused into the weights, so its denoising loop runs at base speed.

Unfused, every LoRA-wrapped projection does two extra small matmuls and some Python per call (UNet
forward +10-15% on imprint-tiny). Fusing costs one B@A per projection once per adapter switch instead.

This is what the pipeline's `fuse_lora`/`unfuse_lora`/`set_adapters`/`enable_lora` do, called on peft's
LoRA layers directly: those pipeline methods walk every module of the model several times per call,
which measured ~50 of the ~60 ms a switch took on imprint-tiny; the layer list here is collected once
per adapter load. Unmerging subtracts the delta it added, which in floating point does not give the
original weights back bit for bit; after thousands of switches the drift would change pixels for a
fixed seed, so `unfuse` also copies the base model's untouched weights back.
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
    def __init__(
        self, pipe: DiffusionPipeline, pristine: DiffusionPipeline, cache: AdapterCache
    ) -> None:
        self._pipe, self._pristine, self._cache = pipe, pristine, cache
        self._components = ("unet", *family_of_pipeline(pipe).text_components())
        self._fused: tuple[WarmAdapter, float] | None = None
        # Which LoRA layers take part in their forward; forgotten after a load, which enables new layers.
        self._enabled: dict[LoraLayer, bool] = {}
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
        for component in self._components:
            for layer, _ in self._layers_of(component):
                mine = adapter.name in layer.lora_A
                # Disabled LoRA layers unmerge themselves on their next forward: fused layers stay enabled.
                # Every other layer is switched off, or it would add its active adapter (another adapter's
                # text-encoder LoRA, say) to this adapter's requests.
                self._set_enabled(layer, mine)
                if mine:
                    layer.set_scale(adapter.name, scale)
                    layer.merge(adapter_names=[adapter.name])
        self._fused = (adapter, scale)

    @torch.no_grad()
    def unfuse(self) -> None:
        """Back to the exact base weights; whether LoRA layers are enabled is left as it is."""
        if self._fused is None:
            return
        for component in self._fused[0].components:
            for layer, original in self._layers_of(component):
                if layer.merged:
                    layer.unmerge()
                    base_layer = layer.get_base_layer()
                    base_layer.weight.copy_(original.weight)
                    if getattr(base_layer, "bias", None) is not None:
                        base_layer.bias.copy_(original.bias)
        self._fused = None

    def clear(self) -> None:
        """Base weights with LoRA layers switched off: the state for requests without an adapter, and the
        one per-sample LoRA (batched_lora) adds its deltas to."""
        self.unfuse()
        for component in self._components:
            for layer, _ in self._layers_of(component):
                self._set_enabled(layer, False)

    def text_lora_layers(self) -> list[LoraLayer]:
        """The LoRA layers of every text encoder (one for SD, two for SDXL)."""
        return [layer for component in self._components[1:] for layer in self.lora_layers(component)]

    def lora_layers(self, component: str) -> list[LoraLayer]:
        """The component's LoRA layers, from the list collected once per adapter load."""
        return [layer for layer, _ in self._layers_of(component)]

    def _set_enabled(self, layer: LoraLayer, enabled: bool) -> None:
        # enable_adapters walks the layer's parameters: skipped when the layer is already in that state.
        if self._enabled.get(layer) is not enabled:
            layer.enable_adapters(enabled)
            self._enabled[layer] = enabled

    def _refresh(self) -> None:
        """Loading an adapter may wrap more modules, and leaves the new layers enabled."""
        if self._cache.loads != self._loads_seen:
            self._loads_seen, self._enabled, self._layers = self._cache.loads, {}, {}

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
