"""Every input field, once: its type, range and values from the contract model, and
everything else about it (words, form group, help, units, how it is obtained, how a
patient could change it, plausible values) from its declaration in rules/fields.yaml.

The pydantic model stays the one source of types, ranges, defaults and cross-field
checks; the loader checks that the declarations describe exactly its fields, and
that every value a declaration names is one the field allows.
"""

from __future__ import annotations

import datetime as dt
import string
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from decision_aid.errors import KnowledgeError, KnowledgeProblem
from decision_aid.knowledge.files import read_yaml, rules_dir
from decision_aid.models import SETTINGS, PatientFactors, input_schema

FILE = "fields.yaml"


@dataclass(frozen=True)
class Change:
    """How a patient could change a field, in the direction that helps."""

    direction: int  # +1 higher, -1 lower (for yes/no: from yes to no)
    advances: str | None = None  # a field that moves with it (more weeks of care: more weeks of symptoms)
    phrase: str | None = None  # how the change reads ("If the patient stopped smoking")


@dataclass(frozen=True)
class CrossField:
    """The form's words for a contract cross-field check failing at a field."""

    when: str | None  # a condition (rules' language) choosing this wording; None: always
    say: str  # "{field}" is that field's value as the form shows it


@dataclass(frozen=True)
class FieldSpec:
    name: str
    kind: str  # "integer", "number", "boolean" or "string"
    nullable: bool
    minimum: float | None = None
    maximum: float | None = None
    values: tuple[Any, ...] = ()  # allowed values of a string or boolean field
    # from rules/fields.yaml
    label: str = ""
    unit: str | None = None
    condition_label: str | None = None
    group: str = ""
    help: str = ""
    question: str | None = None
    asked: bool = False  # the form starts it empty and Assess needs an answer (it has a contract default)
    patient_label: str = ""
    decimals: int | None = None
    value_words: dict[Any, str] = field(default_factory=dict)
    test: str | None = None
    plausible: tuple[float, float] | None = None
    sample: dict[Any, float] = field(default_factory=dict)
    change: Change | None = None
    found: dict[Any, str] = field(default_factory=dict)
    cross_field: tuple[CrossField, ...] = ()

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

    @property
    def labelled(self) -> str:
        """The label with its unit: "translation on flexion-extension (mm)"."""
        return f"{self.label} ({self.unit})" if self.unit else self.label

    def plausibly(self, value: Any) -> bool:
        """Inside the plausible range (always true where none is declared, or not a number)."""
        if self.plausible is None or isinstance(value, bool) or not isinstance(value, (int, float)):
            return True
        return self.plausible[0] <= value <= self.plausible[1]


class _ChangeEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    direction: Literal["higher", "lower"]
    advances: str | None = None
    phrase: str | None = None


class _CrossFieldEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    when: str | None = None
    say: str


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: str
    unit: str | None = None
    condition_label: str | None = None
    group: str
    help: str
    question: str | None = None
    asked: Literal["explicitly"] | None = None
    patient_label: str
    decimals: int | None = None
    value_words: dict[Any, str] = {}
    test: str | None = None
    plausible: tuple[float, float] | None = None
    sample: dict[Any, float] = {}
    patient_can_change: _ChangeEntry | None = None
    found: dict[Any, str] = {}
    cross_field: list[_CrossFieldEntry] = []
    reviewed: dt.date


@cache
def fields() -> dict[str, FieldSpec]:
    """Every input field in form order, from the bundled rules/ (read once per process)."""
    return load_fields(rules_dir())


@cache
def settings() -> dict[str, FieldSpec]:
    """The settings the engine reads beside the patient's factors (the jurisdiction): values from the
    contract model, words from the `settings:` part of rules/fields.yaml. Never patient fields."""
    return load_settings(rules_dir())


@cache
def condition_fields() -> dict[str, FieldSpec]:
    """Every name a rule condition may compare: the input fields and the settings."""
    return {**fields(), **settings()}


@cache
def groups() -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The form's groups in order, each with its fields in order (as declared in rules/fields.yaml)."""
    declared = read_yaml((rules_dir() / FILE).read_text(encoding="utf-8"))["fields"]
    out: dict[str, list[str]] = {}
    for name in declared:
        out.setdefault(fields()[name].group, []).append(name)
    return tuple((group, tuple(names)) for group, names in out.items())


def load_fields(directory: Path) -> dict[str, FieldSpec]:
    """The field declarations of a knowledge base folder, checked against the contract model.

    Raises KnowledgeError naming the file, the field and what is wrong.
    """
    problems: list[KnowledgeProblem] = []

    def problem(name: str, message: str) -> None:
        problems.append(KnowledgeProblem(FILE, name, message))

    try:
        data = read_yaml((directory / FILE).read_text(encoding="utf-8"))
    except Exception as error:  # OSError, YAMLError, UnicodeDecodeError: all "cannot read"
        raise KnowledgeError([KnowledgeProblem(FILE, "", f"cannot read: {error}")]) from None
    entries = data.get("fields") if isinstance(data, dict) else None
    if not isinstance(entries, dict):
        raise KnowledgeError([KnowledgeProblem(FILE, "", "expected a top-level 'fields:' mapping")])
    contract = _contract_fields()
    for name in entries:
        if name not in contract:
            problem(str(name), "declared, but the input contract has no such field")
    out: dict[str, FieldSpec] = {}
    for name, raw in entries.items():
        if name not in contract:
            continue
        try:
            entry = _Entry.model_validate(raw)
        except ValidationError as error:
            for detail in error.errors(include_url=False):
                where = ".".join(str(p) for p in detail["loc"])
                problem(name, f"{where}: {detail['msg']}")
            continue
        spec = _declared(contract[name], entry)
        for message in _disagreements(spec, entry, contract):
            problem(name, message)
        out[name] = spec
    for name in contract:
        if name not in entries:
            problem(name, "this input field has no declaration")
    if problems:
        raise KnowledgeError(problems)
    return {name: out[name] for name in contract}  # the contract's order; the form's is `groups()`


class _SettingEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: str
    help: str
    value_words: dict[str, str]
    reviewed: dt.date


def load_settings(directory: Path) -> dict[str, FieldSpec]:
    """The setting declarations (`settings:` in fields.yaml), checked against the contract's settings.

    Raises KnowledgeError naming the file, the setting and what is wrong.
    """
    problems: list[KnowledgeProblem] = []
    try:
        data = read_yaml((directory / FILE).read_text(encoding="utf-8"))
    except Exception as error:  # OSError, YAMLError, UnicodeDecodeError: all "cannot read"
        raise KnowledgeError([KnowledgeProblem(FILE, "", f"cannot read: {error}")]) from None
    entries = data.get("settings") if isinstance(data, dict) else None
    if not isinstance(entries, dict):
        raise KnowledgeError([KnowledgeProblem(FILE, "", "expected a top-level 'settings:' mapping")])
    out: dict[str, FieldSpec] = {}
    for name in entries:
        if name not in SETTINGS:
            problems.append(KnowledgeProblem(FILE, str(name), "declared, but the contract has no such setting"))
    for name, values in SETTINGS.items():
        if name not in entries:
            problems.append(KnowledgeProblem(FILE, name, "this setting has no declaration"))
            continue
        try:
            entry = _SettingEntry.model_validate(entries[name])
        except ValidationError as error:
            for detail in error.errors(include_url=False):
                where = ".".join(str(p) for p in detail["loc"])
                problems.append(KnowledgeProblem(FILE, name, f"{where}: {detail['msg']}"))
            continue
        if set(entry.value_words) != set(values):
            problems.append(KnowledgeProblem(FILE, name, f"value_words: give words for exactly {', '.join(values)}"))
        out[name] = FieldSpec(
            name,
            "string",
            nullable=False,
            values=values,
            label=entry.label,
            group="Settings",
            help=entry.help,
            patient_label=entry.label.capitalize(),
            value_words=dict(entry.value_words),
        )
    if problems:
        raise KnowledgeError(problems)
    return out


def _contract_fields() -> dict[str, FieldSpec]:
    """Type, nullability, range and values of each field, from the contract's JSON Schema."""
    out = {}
    for name, prop in input_schema()["properties"].items():
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


def _declared(base: FieldSpec, entry: _Entry) -> FieldSpec:
    change = entry.patient_can_change
    return FieldSpec(
        name=base.name,
        kind=base.kind,
        nullable=base.nullable,
        minimum=base.minimum,
        maximum=base.maximum,
        values=base.values,
        label=entry.label,
        unit=entry.unit,
        condition_label=entry.condition_label,
        group=entry.group,
        help=entry.help,
        question=entry.question,
        asked=entry.asked == "explicitly",
        patient_label=entry.patient_label,
        decimals=entry.decimals,
        value_words=dict(entry.value_words),
        test=entry.test,
        plausible=entry.plausible,
        sample=dict(entry.sample),
        change=None
        if change is None
        else Change(+1 if change.direction == "higher" else -1, change.advances, change.phrase),
        found=dict(entry.found),
        cross_field=tuple(CrossField(c.when, c.say) for c in entry.cross_field),
    )


def _disagreements(spec: FieldSpec, entry: _Entry, contract: dict[str, FieldSpec]) -> list[str]:
    """What a declaration says that the contract does not allow."""
    out = []
    numeric = spec.kind in ("integer", "number")
    for key, mapping in (("value_words", spec.value_words), ("sample", spec.sample), ("found", spec.found)):
        for value in mapping:
            if not _allowed(spec, value):
                out.append(f"{key}: {value!r} is not an allowed value of this field")
    if spec.plausible is not None:
        low, high = spec.plausible
        if not numeric:
            out.append("plausible: only a number field has a plausible range")
        elif not spec.minimum <= low <= high <= spec.maximum:
            out.append(f"plausible: [{low}, {high}] is outside the contract's range {spec.minimum} to {spec.maximum}")
    if spec.decimals is not None and spec.kind != "number":
        out.append("decimals: only a number field (not an integer) has decimals")
    if spec.unit is not None and not numeric:
        out.append("unit: only a number field has a unit")
    if spec.change is not None and spec.change.advances is not None and spec.change.advances not in contract:
        out.append(f"patient_can_change.advances: no input field '{spec.change.advances}'")
    if spec.question is not None and spec.kind != "boolean":
        out.append("question: only a yes/no field is asked as a question")
    for check in spec.cross_field:
        out += [f"cross_field: {problem}" for problem in _cross_field_problems(check, contract)]
    info = PatientFactors.model_fields[spec.name]
    if spec.asked and (spec.nullable or info.is_required()):
        out.append("asked: only a field with a contract default is asked explicitly (the form asks the others anyway)")
    if spec.kind in ("string", "boolean") and not spec.sample and not spec.nullable and info.is_required():
        out.append("sample: a required choice needs the weights of its values")
    return out


def _cross_field_problems(check: CrossField, contract: dict[str, FieldSpec]) -> list[str]:
    from decision_aid.knowledge import conditions as cond  # it reads this module's fields() when parsing

    out = []
    if check.when is not None:
        try:
            names = cond.field_names(cond.parse(check.when))
        except cond.ConditionSyntaxError as error:
            return [str(error)]
        out += [f"{check.when!r} names no input field {n!r}" for n in sorted(names - contract.keys())]
    try:
        named = {n for _, n, _, _ in string.Formatter().parse(check.say) if n is not None}
    except ValueError as error:
        return [*out, f"{check.say!r}: {error}"]
    out += [f"{check.say!r} names no input field {n!r}" for n in sorted(named - contract.keys())]
    return out


def _allowed(spec: FieldSpec, value: Any) -> bool:
    if spec.kind == "number" and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    return spec.accepts(value)
