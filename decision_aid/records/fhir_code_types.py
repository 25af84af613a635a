"""What the FHIR code map is made of once loaded: entries (a code, what it sets, its source and review
date), the map itself, the red flags' conditions, and the code systems it may name.

Loaded and checked from rules/fhir_codes.yaml by `fhir_codes`; nothing here reads a file.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

from decision_aid.knowledge import conditions as cond

# Code systems by their FHIR URI, with the short name shown beside a code.
SYSTEMS = {
    "http://loinc.org": "LOINC",
    "http://snomed.info/sct": "SNOMED CT",
    "http://hl7.org/fhir/sid/icd-10": "ICD-10",
    "http://hl7.org/fhir/sid/icd-10-cm": "ICD-10-CM",
    "http://www.cms.gov/Medicare/Coding/ICD10": "ICD-10-PCS",
}
RESOURCES = {"observations": "Observation", "conditions": "Condition", "procedures": "Procedure"}
UNKNOWN = "unknown"  # an answer code that means the record does not know


@dataclass(frozen=True)
class RedFlag:
    """A red flag's condition (rules/red_flags.yaml) and the fields it reads."""

    expr: cond.Expr
    fields: frozenset[str]

    def present(self, values: dict[str, Any]) -> bool:
        from decision_aid.knowledge.reading import holds

        return self.fields <= values.keys() and holds(self.expr, {n: values[n] for n in self.fields}, {})


@dataclass(frozen=True)
class Answer:
    """One coded answer of an Observation.valueCodeableConcept and the value it gives."""

    system: str
    code: str
    display: str
    value: Any  # UNKNOWN: fills nothing


@dataclass(frozen=True)
class Setting:
    """What a matched code does to one field."""

    field: str
    value: Any = None  # fixed value (when `read` and `ask` are None)
    read: Literal["quantity", "answer", "months_since"] | None = None
    ask: tuple[Any, ...] | None = None  # the record raises the question; the answer must be one of these
    ask_any: bool = False  # the record raises the question; any allowed answer (not known too)
    units: tuple[str, ...] = ()
    answers: tuple[Answer, ...] = ()

    @property
    def fixed(self) -> bool:
        return self.read is None and self.ask is None and not self.ask_any


@dataclass(frozen=True)
class CodeEntry:
    resource_type: str  # Observation, Condition or Procedure
    system: str
    code: str
    display: str
    source: str
    reviewed: dt.date
    prefix: bool = False
    lumbar: bool = False
    max_age_days: int | None = None
    sets: tuple[Setting, ...] = ()

    def matches(self, system: str | None, code: str | None) -> bool:
        if system != self.system or not code:
            return False
        return code.startswith(self.code) if self.prefix else code == self.code

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(s.field for s in self.sets)


@dataclass(frozen=True)
class CodeMap:
    """The loaded map: entries by resource type, and the rules for using a resource."""

    entries: tuple[CodeEntry, ...]
    observation_max_age_days: int
    use_status: dict[str, tuple[str, ...]]
    lowest_of_several: frozenset[str]
    age_field: str
    age_source: str

    def find(self, resource_type: str, system: str | None, code: str | None) -> CodeEntry | None:
        """The entry for a coding found in a resource of this type, or None."""
        for entry in self.entries:
            if entry.resource_type == resource_type and entry.matches(system, code):
                return entry
        return None

    def mapped_fields(self) -> frozenset[str]:
        """Every field some code (or the birth date) can fill or ask for."""
        return frozenset({self.age_field, *(f for e in self.entries for f in e.fields)})


def system_name(system: str | None) -> str:
    """A code system's short name (LOINC, SNOMED CT, ...), or its URI when not known."""
    return SYSTEMS.get(system or "", system or "no system")
