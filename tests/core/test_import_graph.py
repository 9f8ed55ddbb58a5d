"""Data flows downhill (issue 20, ARCHITECTURE rule 11): the packages of app/ import each other
without a cycle, counting imports inside functions. Work that must happen above a domain is an
event (app.core.events) the domain above subscribes to."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

from app.core import events

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "app"


def package_of(module: str) -> str | None:
    parts = module.split(".")
    if len(parts) >= 2 and parts[0] == "app" and (APP / parts[1]).is_dir():
        return parts[1]
    return None


def import_graph() -> dict[str, dict[str, list[str]]]:
    """package -> imported package -> where (file:line), every import statement included."""
    graph: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for path in APP.rglob("*.py"):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        source = package_of(module)
        if source is None:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            for name in names:
                target = package_of(name)
                if target and target != source:
                    graph[source][target].append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return graph


def cycles(graph) -> list[list[str]]:
    """The strongly connected groups of more than one package (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in list(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycle_between_the_packages_of_app():
    graph = import_graph()
    found = cycles(graph)
    detail = [
        f"{a} -> {b}: {graph[a][b][0]}"
        for group in found
        for a in group
        for b in group
        if b in graph.get(a, {})
    ]
    assert found == [], "\n".join(detail)


def test_the_check_sees_an_import_inside_a_function():
    graph = {"a": {"b": ["x.py:1"]}, "b": {"a": ["y.py:9"]}, "c": {"a": ["z.py:3"]}}
    assert cycles(graph) == [["a", "b"]]
    # The core imports no domain: it reaches its subscribers by module name only.
    assert set(import_graph()["core"]) <= set()


def test_the_domains_above_subscribe_to_what_happens_below():
    assert "badges" in events.handlers_of(events.AttendanceSubmitted)
    assert "badges" in events.handlers_of(events.MarksEntered)
    assert "open_work" in events.handlers_of(events.StudentsJoinedBatch)
    assert "guardian_chat" in events.handlers_of(events.StudentChatWanted)
