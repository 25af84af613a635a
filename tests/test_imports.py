"""The package's import graph: no cycle, and the views take what they show passed in.

Every import statement of decision_aid/*.py counts, at the top or inside a function.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "decision_aid"
MODULES = {p.stem: p for p in PACKAGE.glob("*.py")}
# Views: they are given the assessment (or the explained assessment) and the knowledge, never
# reach for the process-wide DecisionAid or patient view themselves.
VIEWS = ["handout_content", "handout_pdf", "letter", "patient_view", "explore", "teaching", "labels"]


def imports(path: Path) -> set[str]:
    """The decision_aid modules a file imports (`from decision_aid import x` names module x)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            if node.module == "decision_aid":
                found |= {f"decision_aid.{a.name}" if a.name in MODULES else "decision_aid" for a in node.names}
            else:
                found.add(node.module)
    return {
        "__init__" if name == "decision_aid" else name.removeprefix("decision_aid.")
        for name in found
        if name == "decision_aid" or name.startswith("decision_aid.")
    }


def test_the_package_has_no_import_cycle():
    graph = {name: imports(path) & set(MODULES) - {name} for name, path in MODULES.items()}
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
