"""pyproject.toml declares exactly what src/ imports (plus the few packages used without an import,
each named here with its reason)."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Declared, but reached without an import statement in src/.
USED_WITHOUT_IMPORT = {
    "zttp": "uvicorn's http='zttp' protocol (server/run.py)",
    "uvloop": "the event loop serve picks when it is installed",
    "psycopg": "SQLAlchemy's driver for postgresql+psycopg:// URLs",
    "accelerate": "mixed precision in engine/ (being adopted)",
}


def _name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = [*project["dependencies"], *project["optional-dependencies"]["scale"]]
    return {_name(r) for r in requirements}


def _imported() -> set[str]:
    modules: set[str] = set()
    for path in (ROOT / "src" / "imprint").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                modules.add(node.module.split(".")[0])
    third_party = modules - set(sys.stdlib_module_names) - {"imprint"}
    owners = packages_distributions()
    return {owners[m][0].lower().replace("_", "-") for m in third_party}


def test_every_import_is_declared_and_every_declaration_is_used() -> None:
    declared, imported = _declared(), _imported()
    assert imported - declared == set(), "imported but not declared"
    assert declared - imported == set(USED_WITHOUT_IMPORT), "declared but never imported"
