"""A domain's facade (`app/<domain>/service.py`) re-exports what pages and other domains call,
never a module's private helpers: what two modules of a domain share is public in `common`."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def private_reexports(root: Path = ROOT) -> list[str]:
    found = []
    for facade in sorted(root.joinpath("app").glob("*/service.py")):
        for node in ast.parse(facade.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("app."):
                found += [
                    f"{facade.relative_to(root)}: {alias.name}"
                    for alias in node.names
                    if alias.name.startswith("_") and not alias.name.startswith("__")
                ]
    return found


def test_no_facade_reexports_a_private_helper():
    assert private_reexports() == []


def test_the_rule_finds_a_private_reexport(tmp_path):
    fake = tmp_path / "app" / "demo_domain"
    fake.mkdir(parents=True)
    (fake / "service.py").write_text("from app.demo_domain.things import _secret, public\n")
    assert private_reexports(tmp_path) == ["app/demo_domain/service.py: _secret"]


def private_imports(root: Path = ROOT) -> list[str]:
    """Every `from app.x import _name` in app/: a private helper reached from another module."""
    found = []
    for path in sorted(root.joinpath("app").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("app."):
                found += [
                    f"{path.relative_to(root)}: {node.module}.{alias.name}"
                    for alias in node.names
                    if alias.name.startswith("_") and not alias.name.startswith("__")
                ]
    return found


def test_no_module_imports_another_modules_private_helper():
    """What two modules share is public (in the domain's common module, often)."""
    assert private_imports() == []
