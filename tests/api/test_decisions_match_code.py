"""docs/api-decisions.md states the defaults and limits the code has (it once said trainSteps
defaults to 100 while the code said 600)."""

from __future__ import annotations

import re
from pathlib import Path

from imprint.api.validation import MAX_IMAGES
from imprint.config import Settings

DECISIONS = (Path(__file__).resolve().parents[2] / "docs" / "api-decisions.md").read_text()


def _entry(name: str) -> str:
    match = re.search(rf"- \*\*`{name}`\.\*\*(.*?)(?=\n- \*\*|\Z)", DECISIONS, flags=re.S)
    assert match, name
    return " ".join(match.group(1).split())


def test_train_steps_entry_matches_the_settings() -> None:
    s = Settings(data_dir=Path("."))
    entry = _entry("trainSteps")
    assert f"Default {s.default_train_steps} " in entry and f"1 to {s.max_train_steps} accepted" in entry


def test_image_number_entry_matches_the_cap() -> None:
    entry = _entry("imageNumber")
    assert f"values above {MAX_IMAGES} are served as {MAX_IMAGES}" in entry
    assert f"must be between 1 and {MAX_IMAGES}" in entry
