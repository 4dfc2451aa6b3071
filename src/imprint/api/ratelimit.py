"""Per-AccessKey request rate limiting behind a small interface: an in-memory token bucket now,
a shared store (Redis) later for several API processes.

``acquire`` answers how long the caller must wait: 0 means the request may go ahead.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol


class RateLimiter(Protocol):
    def acquire(self, key: str) -> float:
        """Takes one token for ``key``; returns 0.0, or the seconds until a token is available."""
        ...


class Unlimited:
    def acquire(self, key: str) -> float:
        return 0.0


class TokenBucketLimiter:
    """``rate`` tokens per second refill a bucket of ``burst``; one bucket per key, LRU-bounded so
    that a flood of distinct keys cannot grow memory (an evicted key simply starts full again)."""

    def __init__(self, rate: float, burst: int, *, max_keys: int = 100_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        self._rate, self._burst, self._max = rate, float(burst), max_keys
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def acquire(self, key: str) -> float:
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.pop(key, (self._burst, now))
            tokens = min(self._burst, tokens + (now - last) * self._rate)
            if tokens >= 1.0:
                wait, tokens = 0.0, tokens - 1.0
            else:
                wait = (1.0 - tokens) / self._rate
            self._buckets[key] = (tokens, now)
            if len(self._buckets) > self._max:
                self._buckets.popitem(last=False)
        return wait


def make_limiter(rate: float, burst: int) -> RateLimiter:
    return TokenBucketLimiter(rate, burst) if rate > 0 else Unlimited()
