"""The factors form as data: groups, help text, and answers turned into a patient.

Kept out of the page so it can be tested without Streamlit. Groups, questions, help
text and units are declared in rules/fields.yaml (help follows clinical-reference.md
section 7); allowed ranges come from the input contract, so they cannot drift from
validation.
"""

from __future__ import annotations

from typing import Any

from decision_aid.models import PatientFactors
from decision_aid.vocabulary import FieldSpec, fields, groups

NOT_KNOWN = "not known"

# The form's groups and order, its questions and help: from rules/fields.yaml.
GROUPS = groups()
QUESTIONS = {name: spec.question for name, spec in fields().items() if spec.question}


# The fields the contract requires: the form starts them empty, so none is assumed.
REQUIRED: tuple[str, ...] = tuple(n for n, info in PatientFactors.model_fields.items() if info.is_required())


def unit(name: str) -> str:
    """The unit shown beside a number ("mm", "°", "HU", "weeks"), or "" for none."""
    return fields()[name].unit or ""


def help_text(name: str) -> str:
    """Help for one input: meaning, allowed range and what leaving it empty means."""
    spec = fields()[name]
    parts = [spec.help]
    if spec.kind in ("integer", "number"):
        shown = unit(name)
        parts.append(f"Allowed: {_num(spec.minimum)} to {_num(spec.maximum)}{' ' + shown if shown else ''}.")
    if spec.nullable:
        parts.append(f"Choose '{NOT_KNOWN}' (or leave empty) if it was not measured: it never counts as normal.")
    elif name in REQUIRED:
        parts.append("Required.")
    return " ".join(p for p in parts if p)


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def default_answer(spec: FieldSpec) -> Any:
    """What the form starts with: not known for a nullable field, the contract's default otherwise."""
    if spec.nullable:
        return None
    info = PatientFactors.model_fields[spec.name]
    return None if info.is_required() else info.default


def answers_to_factors(answers: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The patient dict from the form's answers, and the required fields not yet answered.

    An answer of None or NOT_KNOWN means not known and is left out. Numbers are
    given the field's JSON type (a whole-number float for an integer field is
    made an int), so strict validation sees what a JSON file would give.
    """
    patient: dict[str, Any] = {}
    for name, spec in fields().items():
        value = answers.get(name)
        if value is None or value == NOT_KNOWN:
            continue
        if spec.kind == "integer" and isinstance(value, float) and value.is_integer():
            value = int(value)
        elif spec.kind == "number" and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        patient[name] = value
    missing = [name for name in REQUIRED if name not in patient]
    return patient, missing
