"""Warm adapters in a bounded LRU over a fixed set of slots, with load and unload timings.

Each slot owns a peft adapter name and an identifier token (`<imprint-slot-3>`) whose embedding rows
(one per text encoder: two on SDXL) are overwritten when an adapter moves in: the tokenizers and the
embedding tables grow once, by `capacity` rows, however many adapters pass through. Callers hold the
generator's lock.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
from diffusers import DiffusionPipeline

from imprint.engine.adapter_file import family_of, read_adapter, subject_phrase
from imprint.engine.errors import BadInput
from imprint.engine.families import family_of_pipeline

SLOT_TOKEN = "<imprint-slot-{}>"


@dataclass(frozen=True)
class AdapterStats:
    loaded: tuple[Path, ...]  # least recently used first
    hits: int
    loads: int
    evictions: int
    load_ms_total: float
    unload_ms_total: float
    last_load_ms: float | None
    last_unload_ms: float | None

    @property
    def mean_load_ms(self) -> float | None:
        return self.load_ms_total / self.loads if self.loads else None

    @property
    def mean_unload_ms(self) -> float | None:
        return self.unload_ms_total / self.evictions if self.evictions else None


@dataclass(frozen=True, eq=False)  # identity: a reloaded file is a new adapter even in the same slot
class WarmAdapter:
    path: Path
    name: str  # the peft adapter name
    subject: str  # what replaces <special-token>: "<slot token> <subject phrase>" (see subject_phrase)
    components: tuple[str, ...]  # pipeline parts with LoRA layers for it: "unet", maybe "text_encoder"
    layout: tuple[tuple[str, tuple[int, ...]], ...]  # LoRA keys and shapes: equal layouts can hotswap


def _file_key(path: Path) -> tuple[str, int, int]:
    """A file rewritten in place (same path, new adapter) must not be served from the old entry."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise BadInput(f"adapter file {path} does not exist") from None
    return str(path.resolve()), st.st_size, st.st_mtime_ns


class AdapterCache:
    def __init__(self, pipe: DiffusionPipeline, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("max_adapters must be at least 1")
        self._pipe = pipe
        self._family = family_of_pipeline(pipe)
        self._encoders = self._family.text_encoders(pipe)
        tokens = [SLOT_TOKEN.format(i) for i in range(capacity)]
        # Per text encoder, the slot tokens' ids in its own tokenizer.
        self._slot_ids: list[list[int]] = []
        for tokenizer, encoder in zip(self._family.tokenizers(pipe), self._encoders, strict=True):
            tokenizer.add_tokens(tokens)
            encoder.resize_token_embeddings(len(tokenizer), mean_resizing=False)
            self._slot_ids.append(tokenizer.convert_tokens_to_ids(tokens))
        self._free = list(range(capacity))
        self._entries: OrderedDict[tuple[str, int, int], tuple[int, WarmAdapter]] = OrderedDict()
        self._hits = self._loads = self._evictions = 0
        self._load_ms = self._unload_ms = 0.0
        self._last_load: float | None = None
        self._last_unload: float | None = None
        self._publish()

    def peek(self, path: Path) -> WarmAdapter | None:
        """The warm adapter for `path`, if any, without touching the LRU order or the counters."""
        entry = self._entries.get(_file_key(Path(path)))
        return entry[1] if entry else None

    @property
    def capacity(self) -> int:
        return len(self._slot_ids[0])

    @property
    def loads(self) -> int:
        return self._loads

    def get(self, path: Path) -> WarmAdapter:
        path = Path(path)
        key = _file_key(path)
        if key in self._entries:
            self._entries.move_to_end(key)
            self._hits += 1
            self._publish()
            return self._entries[key][1]
        start = time.perf_counter()
        metadata, lora, rows = read_adapter(path)
        self._check_fits(path, metadata, rows)
        layout = tuple(sorted((k, tuple(v.shape)) for k, v in lora.items()))
        hotswap = False
        if not self._free:
            victim = next(iter(self._entries))
            old = self._entries[victim][1]
            # Same LoRA layout, UNet only (diffusers cannot hotswap text-encoder LoRA yet): overwrite the
            # victim's weights in place instead of deleting its layers and creating new ones.
            hotswap = old.layout == layout and old.components == ("unet",)
            if hotswap:
                self._free.append(self._entries.pop(victim)[0])
                self._evictions += 1
                self._last_unload = 0.0
            else:
                self._evict(victim)
        slot = self._free.pop(0)
        name = f"slot{slot}"
        try:
            self._load_lora(path, metadata, lora, name, hotswap)
        except BaseException:
            self._drop(name)
            self._free.insert(0, slot)
            self._publish()
            raise
        with torch.no_grad():
            for encoder, ids, row in zip(self._encoders, self._slot_ids, rows, strict=True):
                table = encoder.get_input_embeddings().weight
                table[ids[slot]] = row.to(table.device, table.dtype)
        adapter = WarmAdapter(
            path=path,
            name=name,
            subject=f"{SLOT_TOKEN.format(slot)} {subject_phrase(metadata)}",
            components=tuple(c for c, names in self._pipe.get_list_adapters().items() if name in names),
            layout=layout,
        )
        self._entries[key] = (slot, adapter)
        elapsed = (time.perf_counter() - start) * 1000
        self._loads += 1
        self._load_ms += elapsed
        self._last_load = elapsed
        self._publish()
        return adapter

    def _check_fits(self, path: Path, metadata: dict[str, str], rows: tuple[torch.Tensor, ...]) -> None:
        trained_for = f"adapter {path.name} was trained for base model {metadata['base_model']!r}"
        if family_of(metadata) != self._family.name or len(rows) != len(self._encoders):
            raise BadInput(
                f"{trained_for} ({family_of(metadata)}), which does not fit this {self._family.label} model"
            )
        for encoder, row in zip(self._encoders, rows, strict=True):
            width = encoder.get_input_embeddings().weight.shape[1]
            if row.shape[0] != width:
                raise BadInput(
                    f"{trained_for}, which does not fit this one (text width {row.shape[0]} vs {width})"
                )

    def _load_lora(
        self, path: Path, metadata: dict[str, str], lora: dict[str, torch.Tensor], name: str, hotswap: bool
    ) -> None:
        try:
            if all(k.startswith("unet.") for k in lora):
                # The UNet's own loader: the pipeline's would also warn that the text encoder got nothing.
                self._pipe.unet.load_lora_adapter(lora, prefix="unet", adapter_name=name, hotswap=hotswap)
            else:
                with _quiet("transformers.integrations.peft"):
                    self._pipe.load_lora_weights(lora, adapter_name=name)
        except (ValueError, RuntimeError, KeyError) as exc:
            raise BadInput(
                f"adapter {path.name} (base model {metadata['base_model']!r}) does not fit this base "
                f"model: {exc}"
            ) from exc

    def _evict(self, key: tuple[str, int, int]) -> None:
        start = time.perf_counter()
        slot, adapter = self._entries.pop(key)
        self._drop(adapter.name)
        self._free.append(slot)
        elapsed = (time.perf_counter() - start) * 1000
        self._evictions += 1
        self._unload_ms += elapsed
        self._last_unload = elapsed
        self._publish()

    def _drop(self, name: str) -> None:
        if any(name in names for names in self._pipe.get_list_adapters().values()):
            self._pipe.delete_adapters(name)

    def any_loaded(self) -> bool:
        return bool(self._entries)

    def stats(self) -> AdapterStats:
        """Lock-free: a snapshot replaced whole after each change, so a metrics reader never waits for
        (or races with) a generation holding the generator's lock."""
        return self._stats

    def _publish(self) -> None:
        self._stats = AdapterStats(
            loaded=tuple(adapter.path for _, adapter in self._entries.values()),
            hits=self._hits,
            loads=self._loads,
            evictions=self._evictions,
            load_ms_total=self._load_ms,
            unload_ms_total=self._unload_ms,
            last_load_ms=self._last_load,
            last_unload_ms=self._last_unload,
        )


@contextlib.contextmanager
def _quiet(logger_name: str) -> Iterator[None]:
    """Errors only from `logger_name` for the block.

    transformers 5 logs a table of every text-encoder LoRA key as MISSING ("newly initialized") when
    diffusers injects the layers, before diffusers sets their weights from the file; the weights are
    right (tests/engine/test_generate.py), but each load put a screenful of false alarm in the log.
    """
    logger = logging.getLogger(logger_name)
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)
