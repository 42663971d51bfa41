"""Layers run one way (issue 10): ``metrics`` (domain) ← ``reports`` (rendering) ← ``dashboard`` and
``kpi_cli`` (entry points), and no import cycles anywhere between the project's modules.

Read from the source (the AST of every module), not by importing it: an import inside a function counts
as much as one at the top of the file, because it runs the moment that function does.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("metrics", "reports", "dashboard", "kpi_cli")

#: What each layer may not import (top-level names, the project's packages or third-party libraries).
FORBIDDEN = {
    "metrics": {"streamlit", "plotly", "kaleido", "reportlab", "pptx", "dashboard", "reports", "kpi_cli"},
    "reports": {"streamlit", "dashboard", "kpi_cli"},
    "dashboard": {"kpi_cli"},
    "kpi_cli": {"dashboard"},
}

#: Modules that sit in a package's folder but belong to another layer: ``python -m metrics`` is the ``kpi``
#: command (shared/spec/cli.md), an entry point like kpi_cli, not part of the domain.
LAYER_OF = {"metrics.__main__": "kpi_cli"}


def layer_of(name: str) -> str:
    return LAYER_OF.get(name, name.split(".")[0])


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> dict[str, Path]:
    """Every module of the project's packages: dotted name → file."""
    return {module_name(p): p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))}


def imports(source: str, name: str, is_package: bool = False) -> list[tuple[int, str]]:
    """(line, dotted name) of everything a module imports, at any depth of its code. ``from a import b``
    names ``a.b`` when that is a module of the project, else ``a``; relative imports are resolved."""
    known = modules()
    package = name if is_package else name.rpartition(".")[0]
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            for a in node.names:
                sub = f"{base}.{a.name}"
                out.append((node.lineno, sub if sub in known else base))
    return out


def project_target(imported: str) -> str | None:
    """The project module an import loads (the longest known prefix), or None for a third-party one."""
    parts = imported.split(".")
    for i in range(len(parts), 0, -1):
        if ".".join(parts[:i]) in modules():
            return ".".join(parts[:i])
    return None


@cache
def graph() -> dict[str, dict[str, int]]:
    """module → {project module it imports: first line}."""
    out: dict[str, dict[str, int]] = {}
    for name, path in modules().items():
        edges: dict[str, int] = {}
        for line, imported in imports(path.read_text(encoding="utf-8"), name, path.name == "__init__.py"):
            target = project_target(imported)
            if target and target != name:
                edges.setdefault(target, line)
        out[name] = edges
    return out


def import_groups(g: dict[str, dict[str, int]]) -> list[list[str]]:
    """The strongly connected groups of two or more modules: within one, each imports every other one,
    directly or through the rest (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def connect(v: str) -> None:  # Tarjan; the graph is small, so recursion is fine
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in g.get(v, {}):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for v in sorted(g):
        if v not in index:
            connect(v)
    return groups


def cycles(g: dict[str, dict[str, int]]) -> list[list[str]]:
    """One cycle path (a → b → … → a) per group of modules that import each other."""
    return [shortest_cycle(g, group) for group in import_groups(g)]


def shortest_cycle(g: dict[str, dict[str, int]], group: list[str]) -> list[str]:
    """The shortest path from the group's first module back to itself, inside the group."""
    start, members = group[0], set(group)
    paths = {start: [start]}
    queue = [start]
    while queue:
        v = queue.pop(0)
        for w in sorted(g[v]):
            if w == start:
                return [*paths[v], start]
            if w in members and w not in paths:
                paths[w] = [*paths[v], w]
                queue.append(w)
    raise AssertionError(f"no cycle through {start}")  # pragma: no cover - a group always has one


def describe(g: dict[str, dict[str, int]], path: list[str]) -> str:
    return " → ".join(f"{a} (line {g[a][b]})" for a, b in zip(path, path[1:])) + f" → {path[-1]}"


# --- the walk itself ---------------------------------------------------------------------------------------


def test_the_walk_sees_every_kind_of_import():
    src = ("import plotly.express as px\nfrom metrics import audit, store\nfrom metrics.kpis import REGISTRY\n"
           "def f():\n    from reports.boardpack import build_pack\n    import streamlit\n"
           "from . import schema\nfrom .reviews import model\n")
    assert imports(src, "metrics.evidence") == [
        (1, "plotly.express"), (2, "metrics.audit"), (2, "metrics.store"), (3, "metrics.kpis"),
        (7, "metrics.schema"), (8, "metrics.reviews.model"), (5, "reports.boardpack"), (6, "streamlit")]
    assert imports("from .model import ReviewBoard\n", "metrics.reviews", is_package=True) == [
        (1, "metrics.reviews.model")]
    assert {"metrics.store", "metrics.schema", "reports", "dashboard.app", "kpi_cli.main"} <= set(modules())


def test_a_cycle_is_found_and_its_path_named():
    g = {"a": {"b": 1}, "b": {"c": 2}, "c": {"a": 3, "d": 4}, "d": {}, "e": {"e": 5}}
    assert cycles(g) == [["a", "b", "c", "a"]]
    assert describe(g, ["a", "b", "c", "a"]) == "a (line 1) → b (line 2) → c (line 3) → a"
    assert cycles({"a": {"b": 1}, "b": {}}) == []


# --- the rules ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("layer", FORBIDDEN)
def test_each_layer_imports_only_what_lies_beneath_it(layer):
    bad = []
    for name, path in modules().items():
        if layer_of(name) != layer:
            continue
        for line, imported in imports(path.read_text(encoding="utf-8"), name, path.name == "__init__.py"):
            if imported.split(".")[0] in FORBIDDEN[layer]:
                bad.append(f"{path.relative_to(ROOT)}:{line} imports {imported}")
    assert bad == [], f"{layer} must not import {', '.join(sorted(FORBIDDEN[layer]))}:\n" + "\n".join(bad)


def test_python_dash_m_metrics_is_only_the_kpi_command():
    """The one metrics module in the entry-point layer imports the ``kpi`` command and nothing else."""
    assert set(graph()["metrics.__main__"]) == {"kpi_cli.main"}
    assert not any("metrics.__main__" in edges for edges in graph().values())


def test_the_schema_module_imports_nothing_from_the_project_but_the_contract():
    assert set(graph()["metrics.schema"]) <= {"metrics.contract"}


def test_no_module_is_loaded_by_name():
    """Subcommands, migrations and the rest are imported as code, never found through a string."""
    bad = []
    for name, path in modules().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                f = node.func
                called = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""
                if called in ("import_module", "__import__"):
                    bad.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert bad == []


def test_no_import_cycles_between_the_projects_modules():
    g = graph()
    found = [f"{describe(g, shortest_cycle(g, group))}" + (f"\n  (modules importing each other: {', '.join(group)})"
                                                           if len(group) > 2 else "")
             for group in import_groups(g)]
    assert found == [], "import cycles:\n" + "\n".join(found)
