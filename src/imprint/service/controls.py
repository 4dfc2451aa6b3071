"""Generation controls a caller may add to an inference job; None everywhere means the defaults."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

# The engine's names (imprint.engine.schedulers.SCHEDULERS), repeated here so that validating a
# request never imports the engine; a test keeps the two equal.
SCHEDULER_NAMES: tuple[str, ...] = ("dpmpp_2m", "euler_a", "euler", "ddim")


@dataclass(frozen=True)
class Controls:
    negative_prompt: str | None = None
    steps: int | None = None
    guidance_scale: float | None = None
    width: int | None = None
    height: int | None = None
    adapter_scale: float | None = None
    scheduler: str | None = None

    def stored(self) -> dict[str, Any] | None:
        """What the job row keeps: only the controls asked for, or None when none was."""
        values = {k: v for k, v in asdict(self).items() if v is not None}
        return values or None

    @classmethod
    def from_stored(cls, values: dict[str, Any] | None) -> Controls:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in (values or {}).items() if k in names})
