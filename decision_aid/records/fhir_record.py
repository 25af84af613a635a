"""What a FHIR bundle gave: the filled fields with their provenance, what was skipped or conflicted,
and the answers still needed; `ImportedRecord.complete` adds the clinician's answers.

Invariant of `complete`: the record is never silently overridden. An answer for a filled field
must equal the record's value; every needed field must be answered (`null` = not known, for a
field that may be unknown); every problem is reported at once, each naming its field.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from decision_aid.errors import InputError, InputProblem
from decision_aid.json_text import show
from decision_aid.models import PatientFactors, allowed_values, parse_factors
from decision_aid.records.fhir_codes import system_name


@dataclass(frozen=True)
class Provenance:
    """Where a value came from: the resource, the code that matched, and the resource's date."""

    resource_type: str
    resource_id: str | None
    system: str
    code: str
    display: str
    date: str | None

    @property
    def reference(self) -> str:
        return f"{self.resource_type}/{self.resource_id}" if self.resource_id else f"{self.resource_type} (no id)"

    def __str__(self) -> str:
        code = f"{system_name(self.system)} {self.code} " if self.system else ""
        words = f"{self.reference}, {code}{self.display}"
        return f"{words}, {self.date}" if self.date else words


@dataclass(frozen=True)
class Skipped:
    """A resource with a mapped code that was not used, and why."""

    resource_type: str
    resource_id: str | None
    code: str
    reason: str
    system: str = ""
    display: str = ""

    def __str__(self) -> str:
        where = f"{self.resource_type}/{self.resource_id}" if self.resource_id else self.resource_type
        code = f"{system_name(self.system)} {self.code}" if self.system else self.code
        return f"{where} ({code} {self.display}): {self.reason}".replace("  ", " ").replace(" )", ")")


@dataclass(frozen=True)
class Conflict:
    """Resources that disagree about one field: reported, never resolved (the field is needed)."""

    field: str
    values: list[tuple[Any, Provenance]]


@dataclass
class ImportedRecord:
    """What a bundle gave: filled fields with provenance, what was skipped or conflicting, and the
    answers still needed (in the contract's field order)."""

    filled: dict[str, Any]
    provenance: dict[str, Provenance]
    skipped: list[Skipped]
    conflicts: list[Conflict]
    needed: list[str]
    red_flags: list[str]
    has_lumbar_diagnosis: bool
    allowed: dict[str, tuple[Any, ...]] = field(default_factory=dict)  # needed field -> the answers the record allows
    raised_by: dict[str, list[Provenance]] = field(default_factory=dict)  # needed field -> the resources that ask it
    as_of: dt.date | None = None

    def complete(self, answers: dict[str, Any]) -> PatientFactors:
        """The patient: the filled fields plus the clinician's answers, validated by the contract.

        Every needed field must be answered (`null` is an answer for a field that may be
        unknown). An answer for a filled field must equal the record's value: the record is
        corrected at its source, never silently overridden. Raises InputError naming every
        field still needed or invalid, all at once.
        """
        if not isinstance(answers, dict):
            raise InputError([InputProblem("(answers)", "the answers must be a JSON object")])
        problems: list[InputProblem] = []
        for name, value in answers.items():
            if name in self.filled and not same(self.filled[name], value):
                problems.append(
                    InputProblem(
                        name,
                        f"the record gives {show(self.filled[name])} ({self.provenance[name]}); an answer of "
                        f"{show(value)} may not change it: leave it out, or correct the record",
                    )
                )
        for name in self.needed:
            choices = ", ".join(show(v) for v in self.allowed[name]) if name in self.allowed else None
            if name not in answers:
                problems.append(
                    InputProblem(name, f"still needed: {self.why_needed(name)} ({choices or allowed_values(name)})")
                )
            elif choices and not any(same(answers[name], v) for v in self.allowed[name]):
                problems.append(InputProblem(name, f"the record allows only {choices} ({self.why_needed(name)})"))
        merged = {**answers, **self.filled}
        try:
            factors = parse_factors(merged)
        except InputError as error:
            named = {p.field for p in problems}
            problems += [p for p in error.problems if p.field not in named]
            factors = None
        if problems or factors is None:
            raise InputError(problems)
        return factors

    def why_needed(self, name: str) -> str:
        """Why a needed field is needed, in a few words."""
        if any(c.field == name for c in self.conflicts):
            return "the record's resources disagree"
        if self.raised_by.get(name):
            return "the record shows " + "; ".join(str(p) for p in self.raised_by[name]) + ", not the answer"
        return "not in the record"


def same(a: Any, b: Any) -> bool:
    """Equal as JSON values: 31 equals 31.0, but true never equals 1."""
    numbers = all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in (a, b))
    return a == b if numbers else (type(a) is type(b) and a == b)
