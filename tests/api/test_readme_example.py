"""The README's SDK example names methods and request classes the official SDK really has (it once
named `personalizedtxt2img_add_model_train_job`, which does not exist)."""

from __future__ import annotations

import re
from pathlib import Path

from alibabacloud_aicontent20240611 import models
from alibabacloud_aicontent20240611.client import Client

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_example_calls_what_the_sdk_has() -> None:
    text = README.read_text()
    example = text.split("```python", 1)[1].split("```", 1)[0]
    methods = re.findall(r"client\.(\w+)\(", example) + re.findall(r"# poll (\w+)", example)
    classes = re.findall(r"models\.(\w+)\(", example)
    assert len(methods) == 3 and len(classes) == 2, (methods, classes)
    assert [m for m in methods if not hasattr(Client, m)] == []
    assert [c for c in classes if not hasattr(models, c)] == []
