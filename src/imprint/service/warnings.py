"""Job warnings: short sentences stored with a job for inputs that were capped, cut or are unlikely to
give what the caller asked, so that the caller reads them in the job (`warnings` in every job object
and status answer) instead of in a server log they may not see."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

# The bundled model's judge cannot read most training pictures as drawings of its world.
CARTOON_WORLD = ("imprint-tiny draws a cartoon world; for photos start imprint with an SD 1.5 or SDXL model "
                 "(imprint serve --base-model)")


def image_number_capped(asked: int, served: int) -> str:
    return f"imageNumber {asked} is more than {served}, the most one job makes: {served} images are made"


def unknown_prompt_words(words: Iterable[str]) -> str:
    listed = ", ".join(f"'{w}'" for w in words)
    return (f"the base model does not know the prompt word(s) {listed}; it reads them as loose letters, "
            "so they will not steer the picture")


def prompt_cut(max_tokens: int, dropped: str) -> str:
    return (f"the prompt is longer than the {max_tokens} tokens the base model reads (the subject's "
            f"description included); dropped: '{dropped}'")


class HasWarnings(Protocol):
    warnings: list[str] | None


def add(row: HasWarnings, *texts: str) -> None:
    """Appends each text once; the list is replaced, not mutated, so the ORM sees the change."""
    current = list(row.warnings or [])
    row.warnings = current + [t for t in dict.fromkeys(texts) if t not in current]
