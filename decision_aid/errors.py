"""The small error hierarchy: every error a user can cause says where and what."""

from __future__ import annotations

from dataclasses import dataclass


class DecisionAidError(Exception):
    """Base class of every error decision_aid raises on purpose."""


@dataclass(frozen=True)
class InputProblem:
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class InputError(DecisionAidError):
    """The patient's factors are invalid; one problem per field."""

    def __init__(self, problems: list[InputProblem]):
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


@dataclass(frozen=True)
class KnowledgeProblem:
    file: str
    rule_id: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.rule_id}" if self.rule_id else self.file
        return f"{where}: {self.message}"


class KnowledgeError(DecisionAidError):
    """The knowledge base in rules/ is invalid; one problem per file and rule."""

    def __init__(self, problems: list[KnowledgeProblem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class EngineError(DecisionAidError):
    """The rules engine failed while running a pass (a bug, never bad input)."""
