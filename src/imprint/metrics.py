"""Prometheus metrics: the one module the app (requests, scrapes) and the job workers (durations,
engine speed, adapter cache) both record into.

Metrics are module-level objects, as prometheus_client expects: in multiprocess mode
(`PROMETHEUS_MULTIPROC_DIR` set before this module is first imported, which `imprint serve --workers N`
does) each process writes its samples to files there and any process's scrape adds them all up.
What the database knows (jobs by status, queue depth) is counted at scrape time instead, so every
process, API or worker, reports the same truth without sharing memory.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from pathlib import Path

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from imprint.store.rows import InferenceJobRow, TrainJobRow

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# prometheus_client picks where samples go when it is imported; a scrape must read them from there,
# even if the variable is set later in this process (for the API worker processes it starts).
MULTIPROCESS = bool(os.environ.get(MULTIPROC_ENV))

REQUESTS = Counter("imprint_requests_total", "API requests by operation and HTTP status.",
                   ["operation", "status"])
REQUEST_SECONDS = Histogram("imprint_request_duration_seconds", "API request latency by operation.",
                            ["operation"],
                            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
TRAINING_SECONDS = Histogram("imprint_training_duration_seconds", "Engine time of one adapter training.",
                             buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1200, 3600, 7200))
GENERATION_SECONDS = Histogram("imprint_generation_duration_seconds", "Engine time of one inference job.",
                               buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300))
# Last value per process; summed over processes would be meaningless, so multiprocess keeps the max.
STEPS_PER_SECOND = Gauge("imprint_engine_steps_per_second",
                         "Engine steps per second of the last finished training or generation.",
                         ["stage"], multiprocess_mode="max")
ADAPTER_CACHE = Counter("imprint_adapter_cache_events_total",
                        "Warm-adapter cache events: hit, load, eviction.", ["event"])


# The labelled children of the request metrics, looked up once per (operation, status): `labels()`
# validates and locks on every call, a measurable share of a cached image read. Bounded: operations
# are a fixed set (unknown paths share one label) and statuses are the few HTTP codes the app sends.
_REQUEST_CHILDREN: dict[tuple[str, int], tuple[Counter, Histogram]] = {}


def observe_request(operation: str, status: int, seconds: float) -> None:
    children = _REQUEST_CHILDREN.get((operation, status))
    if children is None:
        children = (REQUESTS.labels(operation, str(status)), REQUEST_SECONDS.labels(operation))
        _REQUEST_CHILDREN[(operation, status)] = children
    children[0].inc()
    children[1].observe(seconds)


def observe_engine(stage: str, *, seconds: float, steps: int) -> None:
    """One finished engine run: `stage` is training or generation."""
    (TRAINING_SECONDS if stage == "training" else GENERATION_SECONDS).observe(seconds)
    if seconds > 0:
        STEPS_PER_SECOND.labels(stage).set(steps / seconds)


class AdapterCacheCounts:
    """Turns the engine's cumulative cache statistics into counter increments (one per process)."""

    def __init__(self) -> None:
        self._seen = {"hit": 0, "load": 0, "eviction": 0}

    def update(self, hits: int, loads: int, evictions: int) -> None:
        for event, total in (("hit", hits), ("load", loads), ("eviction", evictions)):
            if total > self._seen[event]:
                ADAPTER_CACHE.labels(event).inc(total - self._seen[event])
                self._seen[event] = total


WAITING = ("SUBMITTED", "WAIT_SCHEDULE")


class JobsCollector(Collector):
    """Jobs by kind and status, and the queue depth, read from the database at each scrape."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def collect(self) -> Iterable[GaugeMetricFamily]:
        jobs = GaugeMetricFamily("imprint_jobs", "Jobs by kind and status.", labels=["kind", "status"])
        depth = GaugeMetricFamily("imprint_queue_depth", "Jobs waiting for a worker, by lane.",
                                  labels=["lane"])
        waiting = {"train": 0, "infer": 0}
        tables = (("training", "train", TrainJobRow), ("inference", "infer", InferenceJobRow))
        with self._sessions() as session:
            for kind, lane, table in tables:
                counts = session.execute(select(table.status, func.count()).group_by(table.status))
                for status, count in counts:
                    jobs.add_metric([kind, status], count)
                    if status in WAITING:
                        waiting[lane] += count
        for lane, count in waiting.items():
            depth.add_metric([lane], count)
        yield jobs
        yield depth


def prepare_multiprocess_dir(path: Path) -> None:
    """Empties the directory and points this process (and the processes it starts) at it; must run
    before this module is imported anywhere, since prometheus_client picks its storage on import."""
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    os.environ[MULTIPROC_ENV] = str(path)


def exposition(sessions: sessionmaker[Session] | None) -> tuple[bytes, str]:
    """The text a scrape gets: this process's metrics, or every process's in multiprocess mode, then
    the database's job counts (two expositions of distinct metric names read as one)."""
    if MULTIPROCESS:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    text = generate_latest(registry)
    if sessions is not None:
        database = CollectorRegistry()
        database.register(JobsCollector(sessions))
        text += generate_latest(database)
    return text, CONTENT_TYPE_LATEST


def serve_worker_metrics(port: int, host: str = "0.0.0.0") -> None:
    """A Celery worker's own /metrics (its engine durations, speed and adapter cache), on a thread."""
    start_http_server(port, addr=host)
