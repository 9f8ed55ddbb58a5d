"""Trusted internals look trusted (issue 18, ARCHITECTURE rule 12): a function in app/ that takes
a session and `institute_id` and no `actor` trusts its caller to have checked who may act on
that institute (jobs, other services). Its name ends in `_internal`, so no call site can mistake
it for an actor-checked service, and pages run for a person, so they never call one.
Infrastructure below the domains (app/core) and the demo seeders (app/demo) are not services."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Public entry points that take an institute chosen by an anonymous person and check it
# themselves (not trusted internals).
PUBLIC_ENTRY_POINTS = {
    ("app.access.public", "submit_access_request"),
    ("app.crm.public", "submit_public_inquiry"),
    ("app.crm.public", "offered_subjects"),
}


def trusted_internals() -> set[tuple[str, str]]:
    """(module, function) of every public service function taking institute_id and no actor."""
    found = set()
    for path in ROOT.joinpath("app").rglob("*.py"):
        if path.relative_to(ROOT).parts[1] in ("ui", "core", "demo"):
            continue
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
                names = {a.arg for a in node.args.args + node.args.kwonlyargs}
                if {"session", "institute_id"} <= names and "actor" not in names:
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
    assert ("app.inbox.service", "open_action_internal") in internals
    assert ("app.notify.service", "enqueue_internal") in internals
    assert ("app.inbox.service", "resolve_by_key") not in internals  # takes the actor's


def test_every_trusted_internal_says_so_in_its_name():
    unnamed = sorted(f"{m}.{n}" for m, n in trusted_internals() if not n.endswith("_internal"))
    assert unnamed == [], "end these names in _internal, or give the functions an actor"
    pretenders = []
    for path in ROOT.joinpath("app").rglob("*.py"):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.FunctionDef) and node.name.endswith("_internal"):
                names = {a.arg for a in node.args.args + node.args.kwonlyargs}
                if "actor" in names:
                    pretenders.append(f"{module}.{node.name}")
    assert pretenders == [], "an actor-checked service does not end in _internal"


def test_no_page_calls_a_trusted_internal():
    internals = trusted_internals()
    offenders = [
        f"{page}:{line}: {module}.{name}"
        for page, line, module, name in page_calls()
        if (module, name) in internals or name.endswith("_internal")
    ]
    assert offenders == []
