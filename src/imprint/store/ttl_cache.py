"""A small thread-safe TTL cache for per-request lookups (keys, policies) that must see changes
made by another process (the CLI) within seconds."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class TtlCache(Generic[V]):
    def __init__(self, ttl: float, *, max_items: int = 10_000) -> None:
        self._ttl, self._max = ttl, max_items
        self._items: dict[Hashable, tuple[float, V]] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, load: Callable[[], V]) -> V:
        now = time.monotonic()
        with self._lock:
            hit = self._items.get(key)
        if hit is not None and now - hit[0] < self._ttl:
            return hit[1]
        value = load()
        if self._ttl > 0:
            with self._lock:
                if len(self._items) >= self._max:
                    self._items.clear()  # misses are cached too; a flood of unknown keys must not grow memory
                self._items[key] = (now, value)
        return value
