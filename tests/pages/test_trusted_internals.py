"""Trusted internals stay internal (issue 18): a function in app/ that takes `institute_id` and
no `actor` trusts its caller to have checked who may act on that institute (jobs, other
services). Pages run for a person, so they never call one."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Public entry points that take an institute chosen by an anonymous person and check it
# themselves (not trusted internals).
PUBLIC_ENTRY_POINTS = {("app.access.service", "submit_access_request")}


def trusted_internals() -> set[tuple[str, str]]:
    """(module, function) of every public function taking institute_id and no actor."""
    found = set()
    for path in ROOT.joinpath("app").rglob("*.py"):
        if "ui" in path.relative_to(ROOT).parts:
            continue
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
                names = {a.arg for a in node.args.args + node.args.kwonlyargs}
                if "institute_id" in names and "actor" not in names:
                    found.add((module, node.name))
    return found - PUBLIC_ENTRY_POINTS


def page_calls() -> list[tuple[str, int, str, str]]:
    """(page, line, module, function) of every call a page makes into an app module."""
    calls = []
    for path in ROOT.joinpath("pages").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        modules: dict[str, str] = {}
        functions: dict[str, tuple[str, str]] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("app"):
                for alias in node.names:
                    local = alias.asname or alias.name
                    modules[local] = f"{node.module}.{alias.name}"
                    functions[local] = (node.module, alias.name)
        for node in ast.walk(tree):
            target = None
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                if node.value.id in modules:
                    target = (modules[node.value.id], node.attr)
            elif isinstance(node, ast.Name) and node.id in functions:
                target = functions[node.id]
            if target:
                calls.append((str(path.relative_to(ROOT)), node.lineno, *target))
    return calls


def test_the_rule_finds_the_trusted_internals():
    internals = trusted_internals()
    assert ("app.inbox.service", "open_action") in internals
    assert ("app.notify.service", "enqueue") in internals
    assert ("app.inbox.service", "resolve_by_key") not in internals  # takes the actor's


def test_no_page_calls_a_trusted_internal():
    internals = trusted_internals()
    offenders = [
        f"{page}:{line}: {module}.{name}"
        for page, line, module, name in page_calls()
        if (module, name) in internals
    ]
    assert offenders == []
