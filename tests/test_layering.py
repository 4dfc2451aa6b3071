"""The layering docs/architecture.md draws: auth/ is a leaf of rules and interfaces, and nothing
below the API reaches up into it or into the server."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "imprint"


def _imports(package: str) -> set[str]:
    found: set[str] = set()
    for path in (SRC / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module)
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
    return {name for name in found if name.startswith("imprint.")}


def _packages(modules: set[str]) -> set[str]:
    return {m.split(".")[1] for m in modules}


def test_auth_imports_only_auth() -> None:
    assert _packages(_imports("auth")) <= {"auth"}


def test_auth_holds_no_storage() -> None:
    names = {p.stem for p in (SRC / "auth").glob("*.py")}
    assert not {n for n in names if n.startswith("nonce_")}, "nonce stores belong in store/nonces/"


def test_service_and_store_do_not_point_up() -> None:
    for package in ("service", "store"):
        assert not _packages(_imports(package)) & {"api", "server", "cli", "worker", "queue"}, package
