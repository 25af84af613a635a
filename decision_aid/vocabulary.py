"""The vocabulary rules may use: every input field with its type, range and values.

Derived from the pydantic input model, so the contract has one source in code.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from decision_aid.models import input_schema


@dataclass(frozen=True)
class FieldSpec:
    name: str
    kind: str  # "integer", "number", "boolean" or "string"
    nullable: bool
    minimum: float | None = None
    maximum: float | None = None
    values: tuple[Any, ...] = ()  # allowed values of a string field

    def accepts(self, value: Any) -> bool:
        """True when `value` is of this field's type and within its range."""
        if self.kind == "boolean":
            return isinstance(value, bool)
        if self.kind == "string":
            return isinstance(value, str) and value in self.values
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        if self.kind == "integer" and not isinstance(value, int):
            return False
        return self.minimum <= value <= self.maximum

    @property
    def step(self) -> float:
        """The smallest meaningful change: 1 for integers, 0.1 for measurements."""
        return 1 if self.kind == "integer" else 0.1


@cache
def fields() -> dict[str, FieldSpec]:
    schema = input_schema()
    out = {}
    for name, prop in schema["properties"].items():
        variants = prop.get("anyOf", [prop])
        nullable = any(v.get("type") == "null" for v in variants)
        (main,) = [v for v in variants if v.get("type") != "null"]
        if "enum" in main:
            out[name] = FieldSpec(name, "string", nullable, values=tuple(main["enum"]))
        elif main["type"] == "boolean":
            out[name] = FieldSpec(name, "boolean", nullable, values=(False, True))
        else:
            out[name] = FieldSpec(name, main["type"], nullable, main["minimum"], main["maximum"])
    return out
