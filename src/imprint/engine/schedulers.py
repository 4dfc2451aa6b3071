"""The update rules a generation may ask for, by name, each built from the pipeline's own scheduler
config (its noise schedule and prediction type) through diffusers' `from_config`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from diffusers import (
    DDIMScheduler,
    DPMSolverMultistepScheduler,
    EulerAncestralDiscreteScheduler,
    EulerDiscreteScheduler,
    SchedulerMixin,
)

# Names as the API takes them; without one, a request gets the pipeline's own scheduler.
SCHEDULERS: dict[str, Callable[[Any], SchedulerMixin]] = {
    "dpmpp_2m": lambda config: DPMSolverMultistepScheduler.from_config(config, algorithm_type="dpmsolver++"),
    "euler_a": EulerAncestralDiscreteScheduler.from_config,
    "euler": EulerDiscreteScheduler.from_config,
    "ddim": DDIMScheduler.from_config,
}


class Schedulers:
    """One instance per name, built on first use. Schedulers keep per-loop state (timesteps, step
    index), so they are used under the generator's lock, as the pipeline's own is."""

    def __init__(self, default: SchedulerMixin) -> None:
        self._default = default
        self._built: dict[str, SchedulerMixin] = {}

    def get(self, name: str | None) -> SchedulerMixin:
        if name is None or (name == "dpmpp_2m" and _is_dpmpp(self._default)):
            return self._default
        if name not in self._built:
            self._built[name] = SCHEDULERS[name](self._default.config)
        return self._built[name]


def _is_dpmpp(scheduler: SchedulerMixin) -> bool:
    return (isinstance(scheduler, DPMSolverMultistepScheduler)
            and scheduler.config.get("algorithm_type") == "dpmsolver++")
