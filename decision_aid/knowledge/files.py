"""The files of rules/: where they are, and YAML read safely (a repeated key is an error)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from decision_aid.errors import KnowledgeError, KnowledgeProblem


class _UniqueKeyLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """The safe loader (libyaml's C parser when PyYAML has it: several times faster) that refuses
    a repeated key: plain YAML keeps the last one silently, so a rule with two `when:` keys
    would lose its first condition without a word."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"repeated key '{key}' (each key may appear once in a mapping)", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def read_yaml(text: str) -> Any:
    """Parse YAML safely; a repeated key in any mapping is an error naming the key and its line."""
    return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a safe loader


def yaml_problems(directory: Path | None = None) -> list[KnowledgeProblem]:
    """Every YAML file under rules/ (teaching cases and patient view included) that does not
    parse, a repeated key among them, each named with its file and line."""
    root = directory or rules_dir()
    problems = []
    for path in sorted(root.rglob("*.yaml")):
        try:
            read_yaml(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
            problems.append(KnowledgeProblem(path.relative_to(root).as_posix(), "", f"cannot read: {error}"))
    return problems


def rules_dir() -> Path:
    """rules/ inside an installed package, else at the top of a source checkout."""
    here = Path(__file__).resolve().parents[1]  # the decision_aid package
    for candidate in (here / "rules", here.parent / "rules"):
        if (candidate / "knowledge.yaml").is_file():
            return candidate
    raise KnowledgeError([KnowledgeProblem(str(here.parent / "rules"), "", "knowledge base not found")])
