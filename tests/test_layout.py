"""The floor plan holds: one package per area, no import cycles, modules a reader can take in.

Imports are read by grimp (the graph import-linter uses), function-local imports included.
``hub/__init__.py`` is the composition root (``create_app`` wires every area together) and is
left out of the cycle check. The layer contracts themselves are import-linter's, in
pyproject.toml; here we check that every module of hub/ is in one of its layers, so that a new
module cannot slip past them.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[1]
HUB = ROOT / "hub"
AREAS = ("posts", "approval", "accounts", "dispatch", "checks", "audit", "org", "oversight", "metrics", "notify",
         "interaction")
MAX_LINES = 700


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("hub", "adapters", "review", include_external_packages=False)


def _hub_modules(graph: grimp.ImportGraph) -> set[str]:
    return {m for m in graph.modules if m.startswith("hub.") and not m.startswith("hub.migrations")}


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = 0
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            v, children = work[-1]
            for w in children:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(edges.get(w, ())))))
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    if len(comp) > 1:
                        out.append(sorted(comp))
    return out


def test_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_among_hub_modules(graph: grimp.ImportGraph) -> None:
    mods = _hub_modules(graph)
    edges = {m: {x for x in graph.find_modules_directly_imported_by(m) if x in mods} for m in mods}
    cycles = _cycles(edges)
    detail = []
    for comp in cycles:
        for a in comp:
            for b in sorted(edges[a] & set(comp)):
                for d in graph.get_import_details(importer=a, imported=b):
                    detail.append(f"{a}:{d['line_number']} {d['line_contents']}")
    assert not cycles, "import cycles:\n" + "\n".join(detail)


def test_adapters_and_review_import_nothing_from_hub(graph: grimp.ImportGraph) -> None:
    bad = sorted(f"{m} -> {x}" for m in graph.modules if m.split(".")[0] in ("adapters", "review")
                 for x in graph.find_modules_directly_imported_by(m) if x.split(".")[0] == "hub")
    assert not bad


def test_no_flat_api_or_web_modules_at_the_top_of_hub() -> None:
    flat = sorted(p.name for p in HUB.glob("*.py") if p.stem.startswith(("api_", "web_")))
    assert not flat, f"faces belong in their area's package (hub/<area>/web.py, api.py): {flat}"


def test_each_area_holds_its_rules_pages_and_api() -> None:
    for area in AREAS:
        pkg = HUB / area
        assert (pkg / "__init__.py").exists(), area
    for area in ("posts", "approval", "accounts", "dispatch", "checks", "audit"):
        assert (HUB / area / "web.py").exists() and (HUB / area / "api.py").exists(), area


def test_no_module_longer_than_700_lines() -> None:
    long = sorted(f"{p.relative_to(ROOT)}: {n}" for p in HUB.rglob("*.py")
                  if "migrations" not in p.parts and (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES)
    assert not long, long


def _layers() -> list[set[str]]:
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contract = next(c for c in cfg["tool"]["importlinter"]["contracts"] if c["type"] == "layers")
    return [{m.strip() for m in layer.replace("|", ":").split(":")} for layer in contract["layers"]]


def test_every_hub_module_is_in_one_layer(graph: grimp.ImportGraph) -> None:
    layers = _layers()
    listed = set().union(*layers)
    unplaced, twice = [], []
    for m in sorted(_hub_modules(graph)):
        homes = [i for i, layer in enumerate(layers) if any(m == x or m.startswith(x + ".") for x in layer)]
        if not homes and m.removeprefix("hub.") not in AREAS:  # an area's package __init__ holds no code
            unplaced.append(m)
        if len(homes) > 1:
            twice.append(m)
    assert not unplaced, f"add these modules to their layer in pyproject.toml [tool.importlinter]: {unplaced}"
    assert not twice, f"modules in more than one layer: {twice}"
    assert all(x in graph.modules for x in listed), sorted(x for x in listed if x not in graph.modules)


def test_layer_contracts_are_kept() -> None:
    """The same check `make lint` runs, so `make test` alone is enough.

    Run in its own process: import-linter configures logging when it starts, which would take
    the log records later tests read from caplog.
    """
    lint_imports = Path(sys.executable).with_name("lint-imports")
    out = subprocess.run([str(lint_imports), "--no-cache", "--config", str(ROOT / "pyproject.toml")],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr


FACES = ("hub.web", "hub.api") + tuple(f"hub.{a}.{f}" for a in AREAS for f in ("web", "api"))


def test_faces_never_enqueue(graph: grimp.ImportGraph) -> None:
    """Controllers parse, call and render: the service that caused a job queues it after its commit."""
    faces = {m for m in _hub_modules(graph) if any(m == f or m.startswith(f + ".") for f in FACES)}
    bad = sorted(f"{m} -> {x}" for m in faces for x in graph.find_modules_directly_imported_by(m)
                 if x in ("hub.queue", "hub.dispatch.queueing") or ".jobs" in x)
    assert not bad, bad


def test_no_module_imports_another_modules_private_names() -> None:
    """``from x import _name`` reaches into another module's insides: make the name public instead."""
    bad = []
    for path in sorted([*HUB.rglob("*.py"), *(ROOT / "adapters").rglob("*.py"), *(ROOT / "review").rglob("*.py")]):
        if "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module != "__future__":
                bad += [f"{path.relative_to(ROOT)}:{node.lineno} {node.module}.{a.name}" for a in node.names
                        if a.name.startswith("_") and not a.name.startswith("__")]
    assert not bad, bad
