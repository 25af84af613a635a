"""The package's import graph: no cycle, and the views take what they show passed in.

Every import statement of every module under decision_aid/ counts, at the top or inside a
function. Modules are named by their dotted path below the package (`views.letter`); a
subpackage's `__init__` by the subpackage's name, the package's own by `__init__`.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "decision_aid"


def _name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts) or "__init__"


MODULES = {_name(p): p for p in PACKAGE.rglob("*.py")}
# Views: they are given the assessment (or the explained assessment) and the knowledge, never
# reach for the process-wide DecisionAid or patient view themselves.
VIEWS = [
    "views.handout_content",
    "views.handout_pdf",
    "views.letter",
    "views.patient_view",
    "views.teaching",
    "knowledge.labels",
    "engine.explore",
]


def _module(dotted: str) -> str | None:
    """The module a `decision_aid...` import path names, or None if it is not one of ours."""
    if dotted == "decision_aid":
        return "__init__"
    if not dotted.startswith("decision_aid."):
        return None
    name = dotted.removeprefix("decision_aid.")
    return name if name in MODULES else None


def imports(path: Path) -> set[str]:
    """The decision_aid modules a file imports (`from decision_aid.x import y` names x, and x.y
    when y is itself a module; `from decision_aid import y` names y or the package's __init__)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {m for a in node.names if (m := _module(a.name))}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            base = _module(node.module)
            if base is None:
                continue
            for alias in node.names:
                sub = alias.name if base == "__init__" else f"{base}.{alias.name}"
                found.add(sub if sub in MODULES else base)
    return found


def test_every_module_is_seen():
    assert {"__init__", "models", "cli", "bench", "views.letter", "engine.assessment"} <= set(MODULES)


def test_the_package_has_no_import_cycle():
    graph = {name: imports(path) - {name} for name, path in MODULES.items()}
    state: dict[str, str] = {}

    def visit(name: str, path: list[str]) -> None:
        state[name] = "open"
        for other in sorted(graph[name]):
            assert state.get(other) != "open", "import cycle: " + " -> ".join([*path, other])
            if other not in state:
                visit(other, [*path, other])
        state[name] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])


def test_the_views_do_not_reach_for_the_process_wide_defaults():
    for name in VIEWS:
        tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
        imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for a in n.names}
        named = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
        named |= {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
        assert not imported & {"default_aid", "default_view", "assess"}, name
        assert not named & {"default_aid", "default_view"}, name
        assert "__init__" not in imports(MODULES[name]), name  # `from decision_aid import ...` builds the default


def test_the_readme_module_map_names_every_module():
    """A newcomer reads the architecture from the README's module map: every module is in it."""
    readme = (PACKAGE.parent / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("| where | what it holds |") :].split("\n\n", 1)[0]
    missing = [
        name
        for name, path in MODULES.items()
        if path.name != "__init__.py" and f"`{path.stem}`" not in table and f"{path.stem}.py`" not in table
    ]
    assert not missing, f"README's module map does not name: {missing}"
