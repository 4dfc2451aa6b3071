"""What the README says about the torch pin holds here: the pin in constraints/ci.txt is satisfied by
the CPU build of torch that these machines have at hand, and the README shows the option that picks
PyTorch's CPU wheels elsewhere."""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

import torch
from packaging.requirements import Requirement
from packaging.version import Version

REPO = Path(__file__).resolve().parents[2]


def _pin() -> Requirement:
    lines = (REPO / "constraints" / "ci.txt").read_text().splitlines()
    [line] = [x for x in lines if x.strip().startswith("torch")]
    return Requirement(line)


def test_the_installed_cpu_build_satisfies_the_pin() -> None:
    installed = Version(version("torch"))
    assert _pin().specifier.contains(installed), (str(_pin()), installed)
    assert installed.local == "cpu" and torch.version.cuda is None


def test_the_readme_names_the_pin_and_the_cpu_index() -> None:
    readme = (REPO / "README.md").read_text()
    assert f"`{_pin()}`" in readme
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in " ".join(readme.split())
