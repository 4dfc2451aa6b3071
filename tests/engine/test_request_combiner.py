"""Concurrent callers of the combiner get what they would get alone, and share loops when they queue."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from PIL import Image

from imprint.engine import (
    SPECIAL_TOKEN,
    AdapterInfo,
    BadInput,
    BaseModel,
    Cancelled,
    GenerateRequest,
    Generator,
)
from imprint.engine.request_combiner import RequestCombiner

PROMPT = f"a photo of {SPECIAL_TOKEN}"


def request(**kwargs) -> GenerateRequest:
    return GenerateRequest(**{"prompt": PROMPT, "steps": 3} | kwargs)


def close(a: list[Image.Image], b: list[Image.Image]) -> bool:
    return len(a) == len(b) and all(
        np.abs(np.asarray(x, dtype=np.int16) - np.asarray(y, dtype=np.int16)).max() <= 2
        for x, y in zip(a, b, strict=True)
    )


def test_queued_callers_share_a_loop_and_get_their_own_images(
    base: BaseModel, dog_adapter: AdapterInfo, cat_adapter: AdapterInfo
) -> None:
    gen = Generator(base, max_adapters=2)
    combiner = RequestCombiner(gen)
    requests = [
        request(adapter=dog_adapter.path, seed=1),
        request(adapter=cat_adapter.path, seed=2),
        request(seed=3),
        request(steps=0),
    ]
    batches: list[int] = []
    real = gen.generate_batch

    def counting(items, **kwargs):
        batches.append(len(items))
        return real(items, **kwargs)

    gen.generate_batch = counting  # type: ignore[method-assign]
    results: dict[int, object] = {}

    def call(i: int) -> None:
        try:
            results[i] = combiner.generate(requests[i])
        except Exception as exc:
            results[i] = exc

    # Hold the generator's lock so that all four callers queue up behind the first batch.
    with gen._lock:
        threads = [threading.Thread(target=call, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 60
        while len(combiner._waiting) < 3 and time.monotonic() < deadline:  # all but the one being served
            time.sleep(0.01)
    for t in threads:
        t.join()
    assert isinstance(results[3], BadInput)
    for i in range(3):
        assert close(results[i], Generator(base, max_adapters=2).generate(requests[i]))  # type: ignore[arg-type]
    assert max(batches) >= 2  # at least two of them went together


def test_lone_caller_is_served_at_once_and_cancel_while_waiting(base: BaseModel) -> None:
    combiner = RequestCombiner(Generator(base))
    assert close(combiner.generate(request(seed=4)), Generator(base).generate(request(seed=4)))
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        combiner.generate(request(), cancel=cancel)
