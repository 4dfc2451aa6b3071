"""Serving personalized requests: images/s of imprint's Generator vs load/unload-per-request vs no adapter.

Run: .venv/bin/python benchmarks/adapter_serving.py [--base-model PATH] [--quick] [--batch N] [--threads T]
     [--recipe captioned|uncaptioned] [--skip-memory]

"ours (batched)" reads peft's layer state (engine/batched_lora.py); "ours (sequential)" goes through
diffusers' public LoRA API only (set_adapters, fuse_lora/unfuse_lora: engine/fusion.py). Their ratio,
measured in the same run, is what keeps the private path (issue #18: it stays only at >= 1.2x).

Eight adapters; `--requests` requests (default 200) arrive round-robin over them (request i: adapter
i % 8, seed i; one image, 25 DPM-Solver++ steps, guidance 4 each). All are queued before serving starts,
and every mode serves the same queue in arrival order; what differs is how:
- ours (batched): `Generator(max_adapters=8).generate_batch`. The server takes the queue's head and up
  to N-1 more compatible queued requests (same steps, guidance and size; `--batch`, default N = 8) and
  runs them in ONE denoising loop: one UNet forward per step over all their rows, each request's own
  adapter applied to its own rows only (engine/batched_lora.py: per-sample LoRA deltas by gathered bmm,
  a grouped convolution for conv LoRA; base weights unfused), each prompt encoded with its own
  identifier token. With 8 round-robin adapters
  every batch of 8 holds 8 different adapters: no request shares an adapter with its batch neighbours.
  Every request of a batch waits for the whole batch (latency is the batch's time, printed below).
- no adapter (batched): the same batched serving of the same prompts and seeds on a Generator that
  never loaded an adapter (the subject marker is dropped): the upper bound for batched serving.
- ours (sequential): `Generator.generate`, one request at a time, adapters warm in its LRU and switched
  by fusing (engine/fusion.py).
- baseline: a stock diffusers pipeline that, per request, calls `load_lora_weights` and
  `load_textual_inversion` (the identifier row), generates with `pipe(...)`, then
  `unload_lora_weights` and `unload_textual_inversion`, the way a service without an adapter cache does
  it; one request at a time (stock diffusers has no per-sample adapters to batch with).
- no adapter (sequential): a Generator that never loaded one, one request at a time.
The modes run interleaved in blocks of N requests (each mode serves the same block of the queue in turn),
so load from other processes on the machine falls on all of them alike; per-block ratios are printed
with their median. Then memory, in a fresh process so its peak RSS is its own: adapters swapped through
a `Generator(max_adapters=2)` by batched generation (each batch: two requests whose two adapters are
not warm, so each batch loads two and evicts two), RSS and peak RSS after 10 and after `--swaps` swaps.
No timed asserts: this prints figures and ratios.
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import torch
from diffusers import DPMSolverMultistepScheduler, StableDiffusionPipeline
from engine_common import (
    add_common_arguments,
    base_model_folder,
    median,
    peak_rss_mb,
    rss_mb,
    set_threads,
    subject_photos,
)

from imprint.engine import SPECIAL_TOKEN, BaseModel, GenerateRequest, Generator, TrainConfig, train_adapter
from imprint.engine.adapter_file import read_adapter
from imprint.engine.request_batch import take_compatible
from imprint.engine.train_config import recipe_for

ADAPTERS = 8
PROMPT = f"a photo of {SPECIAL_TOKEN} on the beach"


def train_adapters(base: BaseModel, folder: Path, recipe: str) -> list[Path]:
    """Eight distinct adapters; two training steps each, since their quality does not change speed.

    "captioned": the layers the service trains for the bundled model (its captioned recipe: rank 32
    on every layer of the UNet's blocks, convolutions included, and the text encoder); "uncaptioned":
    rank 8 on the UNet's attention only (the recipe for pictures without captions)."""
    photos = subject_photos(3)
    contexts = ["on the beach"] * len(photos) if recipe == "captioned" else None
    paths = []
    for i in range(ADAPTERS):
        config = recipe_for(base, contexts) if contexts else TrainConfig()
        config.steps, config.seed = 2, i
        paths.append(train_adapter(base, photos, "dog", folder / f"dog{i}.safetensors", config,
                                   contexts=contexts).path)
    return paths


class PerRequestBaseline:
    """Stock diffusers, no cache: load everything for the request, generate, unload everything."""

    def __init__(self, folder: Path) -> None:
        self.pipe = StableDiffusionPipeline.from_pretrained(
            folder, safety_checker=None, local_files_only=True
        )
        self.pipe.scheduler = DPMSolverMultistepScheduler.from_config(
            self.pipe.scheduler.config, algorithm_type="dpmsolver++"
        )
        self.pipe.set_progress_bar_config(disable=True)

    def generate(self, adapter: Path, steps: int, seed: int) -> None:
        metadata, _, (token_row, *_) = read_adapter(adapter)
        token = metadata["token"]
        self.pipe.load_lora_weights(str(adapter), adapter_name="request")
        self.pipe.load_textual_inversion(token_row, token=token)
        prompt = PROMPT.replace(SPECIAL_TOKEN, f"{token} {metadata['object_type']}")
        self.pipe(
            prompt,
            num_inference_steps=steps,
            guidance_scale=4.0,
            generator=[torch.Generator().manual_seed(seed)],
        )
        self.pipe.unload_lora_weights()
        self.pipe.unload_textual_inversion(token)


def serve_batched(gen: Generator, queue: list[GenerateRequest], batch: int) -> None:
    """What a batching server does with its queue: oldest request plus compatible ones, N at a time."""
    while queue:
        taken = take_compatible(queue, batch, gen.batch_key)
        for outcome in gen.generate_batch(taken, max_requests=batch):
            if isinstance(outcome, Exception):
                raise outcome


def throughput(
    base: BaseModel, folder: Path, adapters: list[Path], requests: int, steps: int, batch: int
) -> None:
    ours = Generator(base, max_adapters=ADAPTERS)
    ours_batched = Generator(base, max_adapters=ADAPTERS)
    plain = Generator(base)
    plain_batched = Generator(base)
    baseline = PerRequestBaseline(folder)
    cold_start = time.perf_counter()
    for adapter in adapters:
        ours.preload(adapter)
    cold_ms = (time.perf_counter() - cold_start) / len(adapters) * 1000
    for adapter in adapters:
        ours_batched.preload(adapter)

    def request(i: int, adapter: bool) -> GenerateRequest:
        return GenerateRequest(
            PROMPT, adapter=adapters[i % ADAPTERS] if adapter else None, steps=steps, seed=i
        )

    def run_ours(block: range) -> None:
        for i in block:
            ours.generate(request(i, True))

    def run_ours_batched(block: range) -> None:
        serve_batched(ours_batched, [request(i, True) for i in block], batch)

    def run_plain(block: range) -> None:
        for i in block:
            plain.generate(request(i, False))

    def run_plain_batched(block: range) -> None:
        serve_batched(plain_batched, [request(i, False) for i in block], batch)

    def run_baseline(block: range) -> None:
        for i in block:
            baseline.generate(adapters[i % ADAPTERS], steps, i)

    modes: dict[str, Callable[[range], None]] = {
        "ours (batched)": run_ours_batched,
        "no adapter (batched)": run_plain_batched,
        "ours (sequential)": run_ours,
        "baseline": run_baseline,
        "no adapter (sequential)": run_plain,
    }
    for run in modes.values():  # warm-up: first-call allocations, lazy imports, the batch shapes
        run(range(requests, requests + batch))
    blocks: dict[str, list[float]] = {name: [] for name in modes}  # seconds per request, per block
    sizes: list[int] = []
    done = 0
    while done < requests:
        block = range(done, min(done + batch, requests))
        for name, run in modes.items():
            start = time.perf_counter()
            run(block)
            blocks[name].append((time.perf_counter() - start) / len(block))
        sizes.append(len(block))
        done = block.stop
    spent = {name: sum(t * n for t, n in zip(times, sizes, strict=True)) for name, times in blocks.items()}

    rate = {name: requests / seconds for name, seconds in spent.items()}
    print(
        f"\n{requests} requests round-robin over {ADAPTERS} adapters, 1 image x {steps} steps each; "
        f"batched modes take up to {batch} queued requests per loop"
    )
    for name in modes:
        print(f"  {name:<24} {rate[name]:6.2f} images/s   {spent[name] / requests * 1000:7.1f} ms/request")
    print(
        f"  batched latency: each request waits for its whole batch, "
        f"{median(blocks['ours (batched)']) * batch * 1000:.0f} ms (median batch of {batch}) vs "
        f"{median(blocks['ours (sequential)']) * 1000:.0f} ms for one request alone"
    )
    stats = ours.stats()
    print(
        f"  ours: cold load {cold_ms:.1f} ms/adapter (first use), warm hits {stats.hits}, loads {stats.loads}"
    )
    print("  ratios (overall; median of per-block ratios in brackets):")
    for mine, other in (
        ("ours (batched)", "baseline"),
        ("ours (batched)", "no adapter (batched)"),
        ("ours (batched)", "ours (sequential)"),
        ("ours (sequential)", "baseline"),
        ("ours (sequential)", "no adapter (sequential)"),
        ("no adapter (batched)", "no adapter (sequential)"),
    ):
        per_block = median([o / m for m, o in zip(blocks[mine], blocks[other], strict=True)])
        print(f"    {mine + ' / ' + other:<50} {rate[mine] / rate[other]:6.3f}x  ({per_block:.3f}x)")
    # Adapters cost at least nothing, so batched serving without any bounds what batching can give here:
    # when the UNet is compute-bound (a CPU thread), larger batches stop paying per image.
    ceiling = rate["no adapter (batched)"] / rate["baseline"]
    print(
        f"  ceiling: no adapter (batched) / baseline = {ceiling:.3f}x "
        f"(what ours (batched) / baseline would be with free adapters)"
    )


def memory_in_process(folder: Path, adapters: list[Path], swaps: int, threads: int) -> dict:
    """Runs in a fresh process. Plain dicts and tuples, which pickle back to the parent."""
    set_threads(threads)
    gen = Generator(BaseModel.load(folder), max_adapters=2)
    vocabulary = (len(gen._pipe.tokenizer), gen._pipe.text_encoder.get_input_embeddings().weight.shape[0])
    readings: dict[int, tuple[float, float]] = {}  # swaps done: (RSS, peak RSS) in MiB
    i = 0
    while gen.stats().evictions < swaps:
        # Two requests whose adapters are not the two warm ones: each batch loads two and evicts two.
        pair = [adapters[(i + k) % ADAPTERS] for k in range(2)]
        gen.generate_batch([GenerateRequest(PROMPT, adapter=a, steps=1, seed=i) for a in pair])
        i += 2
        evictions = gen.stats().evictions
        if (evictions >= 10 and not readings) or evictions >= swaps:
            gc.collect()
            readings[evictions] = (rss_mb(), peak_rss_mb())
    stats = gen.stats()
    return {
        "readings": readings,
        "vocabulary": (
            vocabulary,
            (len(gen._pipe.tokenizer), gen._pipe.text_encoder.get_input_embeddings().weight.shape[0]),
        ),
        "timings": (stats.mean_load_ms, stats.mean_unload_ms, stats.loads),
    }


def memory(folder: Path, adapters: list[Path], swaps: int, threads: int) -> None:
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        result = pool.submit(memory_in_process, folder, adapters, swaps, threads).result()
    readings = result["readings"]
    (tokens, rows), (tokens_after, rows_after) = result["vocabulary"]
    load_ms, unload_ms, loads = result["timings"]
    print(
        f"\nadapter swaps (load + evict) through generate_batch in a Generator(max_adapters=2), "
        f"{ADAPTERS} adapters round-robin, 2 per batch, in a fresh process"
    )
    for count, (mb, peak) in readings.items():
        print(f"  after {count:>5} swaps: RSS {mb:8.1f} MiB, peak RSS {peak:8.1f} MiB")
    first, last = min(readings), max(readings)
    (rss_first, peak_first), (rss_last, peak_last) = readings[first], readings[last]
    print(
        f"  growth over {last - first} swaps: RSS {rss_last - rss_first:+.1f} MiB, peak RSS "
        f"{peak_last - peak_first:+.1f} MiB ({(peak_last / peak_first - 1) * 100:+.2f}%)"
    )
    print(f"  load {load_ms:.1f} ms, unload {unload_ms:.1f} ms (means over {loads} loads)")
    print(f"  tokenizer {tokens} -> {tokens_after} tokens, embedding rows {rows} -> {rows_after}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_common_arguments(parser)
    parser.add_argument("--requests", type=int, default=None, help="default 200 (--quick: 48)")
    parser.add_argument("--steps", type=int, default=25)
    parser.add_argument("--swaps", type=int, default=None, help="default 1000 (--quick: 200)")
    parser.add_argument("--batch", type=int, default=8, help="requests per batched loop (default 8)")
    parser.add_argument("--recipe", choices=("captioned", "uncaptioned"), default="captioned",
                        help="which recipe's layers the adapters carry (default: captioned, what the service "
                             "trains for the bundled model)")
    parser.add_argument("--skip-memory", action="store_true", help="only the throughput part")
    args = parser.parse_args()
    set_threads(args.threads)
    folder = base_model_folder(args.base_model)
    base = BaseModel.load(folder)
    unet_params = sum(p.numel() for p in base.pipeline.unet.parameters()) / 1e6
    print(
        f"base model {base.name} ({unet_params:.1f}M UNet parameters, {base.image_size}px), "
        f"{torch.get_num_threads()} thread(s)"
    )
    with tempfile.TemporaryDirectory(prefix="imprint-adapters-") as tmp:
        adapters = train_adapters(base, Path(tmp), args.recipe)
        print(f"adapters: the {args.recipe} recipe's layers")
        throughput(
            base, folder, adapters, args.requests or (48 if args.quick else 200), args.steps, args.batch
        )
        if not args.skip_memory:
            memory(folder, adapters, args.swaps or (200 if args.quick else 1000), args.threads)


if __name__ == "__main__":
    main()
