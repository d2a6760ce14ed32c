"""The package's structure: layers that point one way, no import cycles, SQL only in the store.

The import graph is built from the source (imports inside functions count: they hide cycles just
as well), so this runs without importing anything.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "whatworks"

#: Layers, lowest first: a module may import its own layer and those below, never above.
LAYERS = [
    ("base", {"errors", "model", "text", "vocab", "language", "executor"}),
    ("store", {"store"}),
    ("below the stages", {"read", "describe", "protocol", "codebook", "userfiles", "project", "corrections", "team",
                          "validation", "protocol_schema", "codebook_schema", "local_names", "embedding"}),
    ("stages", {"collect", "search", "screen", "decisions", "coding", "coder", "claims", "emerging", "selection", "passages",
                "synthesize", "llm", "ieval"}),
    ("report", {"report"}),
    ("api", {"api"}),
    ("interfaces", {"cli", "web"}),
]


def modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        name = ".".join(rel.parts)
        out[name.removesuffix(".__init__")] = path
    return out


def _resolve(name: str, mods: dict[str, Path]) -> str | None:
    while name and name not in mods:
        name = name.rpartition(".")[0]
    return name or None


def graph() -> dict[str, set[str]]:
    mods = modules()
    out: dict[str, set[str]] = {m: set() for m in mods}
    for m, path in mods.items():
        pkg = m if path.name == "__init__.py" else m.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [n.name for n in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = pkg.split(".")[: len(pkg.split(".")) - node.level + 1]
                    base = ".".join(parts + ([base] if base else []))
                names = [f"{base}.{n.name}" for n in node.names] + [base]
            for n in names:
                if n.startswith("whatworks"):
                    target = _resolve(n, mods)
                    if target and target != m and not m.startswith(target + "."):
                        out[m].add(target)
    return out


def layer_of(module: str) -> int:
    parts = module.split(".")
    top = parts[1] if len(parts) > 1 else ""
    for i, (_, names) in enumerate(LAYERS):
        if top in names:
            return i
    if top in ("", "__main__"):
        return len(LAYERS) - 1
    raise AssertionError(f"{module} is in no layer: add it to LAYERS in this test and to docs/contributing.md")


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in g[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in g:
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles():
    assert cycles(graph()) == []


def test_layers_point_one_way():
    wrong = []
    for m, targets in graph().items():
        for t in targets:
            if layer_of(t) > layer_of(m):
                wrong.append(f"{m} ({LAYERS[layer_of(m)][0]}) imports {t} ({LAYERS[layer_of(t)][0]})")
    assert wrong == []


def test_the_store_imports_nothing_above_it():
    up = [(m, t) for m, ts in graph().items() if m.startswith("whatworks.store") for t in ts
          if not t.startswith("whatworks.store") and layer_of(t) > 0]
    assert up == []


def test_interfaces_use_only_the_api():
    """The CLI and the web call the API; they may use types and errors from below, not operations."""
    allowed = {"whatworks.api", "whatworks.errors", "whatworks.team", "whatworks.project", "whatworks.model"}
    bad = [(m, t) for m, ts in graph().items() if layer_of(m) == len(LAYERS) - 1 for t in ts
           if layer_of(t) < len(LAYERS) - 1 and t not in allowed and not t.startswith("whatworks.report")]
    assert bad == []


@pytest.mark.parametrize("needle", ["sqlalchemy", "sqlite3", "psycopg"])
def test_sql_lives_in_the_store(needle: str):
    """No module outside whatworks/store talks to a database."""
    users = []
    for m, path in modules().items():
        if m.startswith("whatworks.store"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = [n.name for n in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            if any(n.split(".")[0] == needle for n in names):
                users.append(m)
    assert users == []


def test_the_graph_test_sees_imports_inside_functions():
    """The walker counts `import` statements nested in functions (where cycles hide)."""
    g = graph()
    assert "whatworks.llm" in g["whatworks.api"]  # imported inside Review.code
