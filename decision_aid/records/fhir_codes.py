"""The FHIR code map (rules/fhir_codes.yaml): which record codes fill which input field, loaded
and checked against the input contract.

Invariants, checked when the map loads (`load_code_map`, and `check_code_map` for
`decision-aid rules check`): every field named exists in the contract; every value an
entry sets, asks for or reads from an answer is one the field allows; a quantity or a
month count is read only into a number field; every system is a known code-system URI;
no (system, code) pair is mapped twice (a prefix counts for every code it covers); every
entry has a display, a source and a review date; a code may set a red flag (rules/red_flags.yaml)
present, never absent. Nothing field-specific lives here: it all comes from the YAML file and
rules/fields.yaml. The loaded map's types are in `fhir_code_types` (importable from here too).
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from decision_aid.errors import KnowledgeError, KnowledgeProblem
from decision_aid.knowledge import conditions as cond
from decision_aid.knowledge.fields import FieldSpec, fields
from decision_aid.knowledge.files import read_yaml, rules_dir
from decision_aid.records.fhir_code_types import (
    RESOURCES,
    SYSTEMS,
    UNKNOWN,
    Answer,
    CodeEntry,
    CodeMap,
    RedFlag,
    Setting,
    system_name,
)

FILE = "fhir_codes.yaml"
__all__ = [  # the map's types, importable from here as well
    "SYSTEMS",
    "UNKNOWN",
    "Answer",
    "CodeEntry",
    "CodeMap",
    "RedFlag",
    "Setting",
    "check_code_map",
    "code_map",
    "load_code_map",
    "red_flags",
    "system_name",
]

# ---- the file's shape ----------------------------------------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _AnswerEntry(_Model):
    system: str
    code: str
    display: str = Field(min_length=1)
    value: Any


class _SetEntry(_Model):
    field: str
    value: Any = None
    read: Literal["quantity", "answer", "months_since"] | None = None
    ask: list[Any] | Literal["any"] | None = None
    units: list[str] = []
    answers: list[_AnswerEntry] = []


class _CodeEntry(_Model):
    system: str
    code: str = Field(min_length=1)
    display: str = Field(min_length=1)
    source: str = Field(min_length=1)
    reviewed: dt.date
    match: Literal["exact", "prefix"] = "exact"
    lumbar: bool = False
    max_age_days: int | None = Field(default=None, gt=0)
    sets: list[_SetEntry] = []


class _Birth(_Model):
    field: str
    source: str = Field(min_length=1)
    reviewed: dt.date


class _Patient(_Model):
    birthDate: _Birth  # noqa: N815 - the FHIR element's name


class _File(_Model):
    observation_max_age_days: int = Field(gt=0)
    use_status: dict[
        Literal["Observation", "Condition.clinicalStatus", "Condition.verificationStatus", "Procedure"], list[str]
    ]
    lowest_of_several: list[str] = []
    patient: _Patient
    observations: list[dict[str, Any]] = []
    conditions: list[dict[str, Any]] = []
    procedures: list[dict[str, Any]] = []


# ---- loading and checking --------------------------------------------------------------------


@cache
def code_map() -> CodeMap:
    """The bundled code map (read and checked once per process); KnowledgeError if it is invalid."""
    return load_code_map(rules_dir())


@cache
def red_flags() -> tuple[RedFlag, ...]:
    """The bundled red flags' conditions (read once per process)."""
    return _red_flags(rules_dir())


def _red_flags(directory: Path) -> tuple[RedFlag, ...]:
    """The red flags' conditions, parsed from their `when:` texts (rules check validates the file)."""
    try:
        flags = read_yaml((directory / "red_flags.yaml").read_text(encoding="utf-8"))["red_flags"]
        exprs = [cond.parse(flag["when"]) for flag in flags]
    except Exception:  # knowledge.load reports what is wrong with the file
        return ()
    return tuple(RedFlag(e, frozenset(cond.field_names(e))) for e in exprs)


def load_code_map(directory: Path | None = None) -> CodeMap:
    """Load and check the code map of a knowledge base folder; KnowledgeError lists every problem."""
    found, problems = _load(directory or rules_dir())
    if problems or found is None:
        raise KnowledgeError(problems)
    return found


def check_code_map(directory: Path | None = None) -> tuple[CodeMap | None, list[KnowledgeProblem]]:
    """The code map and every problem in it (for `decision-aid rules check`)."""
    return _load(directory or rules_dir())


def _load(directory: Path) -> tuple[CodeMap | None, list[KnowledgeProblem]]:
    problems: list[KnowledgeProblem] = []

    def problem(where: str, message: str) -> None:
        problems.append(KnowledgeProblem(FILE, where, message))

    try:
        raw = read_yaml((directory / FILE).read_text(encoding="utf-8"))
        top = _File.model_validate(raw)
    except ValidationError as error:
        for e in error.errors(include_url=False):
            problem(".".join(str(p) for p in e["loc"]), e["msg"])
        return None, problems
    except Exception as error:  # OSError, YAMLError, UnicodeDecodeError: all "cannot read"
        return None, [KnowledgeProblem(FILE, "", f"cannot read: {error}")]
    contract = fields()
    birth = top.patient.birthDate
    if birth.field not in contract:
        problem("patient.birthDate", f"field: the input contract has no field {birth.field!r}")
    elif contract[birth.field].kind != "integer":
        problem("patient.birthDate", f"field: {birth.field!r} is not a whole-number field")
    for name in top.lowest_of_several:
        if name not in contract:
            problem("lowest_of_several", f"the input contract has no field {name!r}")
        elif contract[name].kind not in ("integer", "number"):
            problem("lowest_of_several", f"{name!r} is not a number field")
    flags = _red_flags(directory)
    entries: list[CodeEntry] = []
    for section, resource_type in RESOURCES.items():
        for index, item in enumerate(getattr(top, section)):
            where = f"{section}[{index}]"
            if isinstance(item, dict) and "system" in item and "code" in item:
                where = f"{section}[{index}] {item['system']}|{item['code']}"
            entry = _entry(item, resource_type, where, contract, flags, problem)
            if entry is not None:
                entries.append(entry)
    _duplicates(entries, problem)
    if problems:
        return None, problems
    code_map = CodeMap(
        entries=tuple(entries),
        observation_max_age_days=top.observation_max_age_days,
        use_status={k: tuple(v) for k, v in top.use_status.items()},
        lowest_of_several=frozenset(top.lowest_of_several),
        age_field=birth.field,
        age_source=birth.source,
    )
    return code_map, []


def _entry(
    item: Any, resource_type: str, where: str, contract: dict[str, FieldSpec], flags: tuple[RedFlag, ...], problem
) -> CodeEntry | None:
    try:
        raw = _CodeEntry.model_validate(item)
    except ValidationError as error:
        for e in error.errors(include_url=False):
            problem(where, f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}")
        return None
    ok = True
    if raw.system not in SYSTEMS:
        problem(where, f"system: {raw.system!r} is not a known code system ({', '.join(SYSTEMS)})")
        ok = False
    if not raw.sets and not raw.lumbar:
        problem(where, "the code does nothing: give `sets:` or `lumbar: true`")
        ok = False
    if raw.max_age_days is not None and resource_type != "Observation":
        problem(where, "max_age_days: only an observation has an age limit")
        ok = False
    sets = []
    for n, s in enumerate(raw.sets):
        messages = _setting_problems(s, resource_type, contract) + _red_flag_problems(s, flags)
        for message in messages:
            problem(where, f"sets[{n}]: {message}")
        ok = ok and not messages
        sets.append(_setting(s))
    if not ok:
        return None
    return CodeEntry(
        resource_type=resource_type,
        system=raw.system,
        code=raw.code,
        display=raw.display,
        source=raw.source,
        reviewed=raw.reviewed,
        prefix=raw.match == "prefix",
        lumbar=raw.lumbar,
        max_age_days=raw.max_age_days,
        sets=tuple(sets),
    )


def _setting_problems(s: _SetEntry, resource_type: str, contract: dict[str, FieldSpec]) -> list[str]:
    if s.field not in contract:
        return [f"field: the input contract has no field {s.field!r}"]
    spec = contract[s.field]
    given = [k for k in ("value", "read", "ask") if getattr(s, k) is not None]
    if len(given) != 1:
        return ["give exactly one of value, read and ask"]
    out = []
    if s.value is not None and not _allowed(spec, s.value):
        out.append(f"value: {s.value!r} is not an allowed value of {s.field}")
    if isinstance(s.ask, list):
        out += [f"ask: {v!r} is not an allowed value of {s.field}" for v in s.ask if not _allowed(spec, v)]
        if not s.ask:
            out.append("ask: name at least one value, or `any`")
    if s.read == "quantity":
        if resource_type != "Observation":
            out.append("read quantity: only an observation has a valueQuantity")
        if spec.kind not in ("integer", "number"):
            out.append(f"read quantity: {s.field} is not a number field")
        if not s.units:
            out.append('read quantity: name the units accepted ("" for none)')
    if s.read == "answer":
        if resource_type != "Observation":
            out.append("read answer: only an observation has a valueCodeableConcept")
        if not s.answers:
            out.append("read answer: list the answers")
        for a in s.answers:
            if a.system not in SYSTEMS:
                out.append(f"answers: {a.system!r} is not a known code system")
            if a.value != UNKNOWN and not _allowed(spec, a.value):
                out.append(f"answers: {a.system}|{a.code} gives {a.value!r}, not an allowed value of {s.field}")
        pairs = [(a.system, a.code) for a in s.answers]
        out += [f"answers: {a}|{c} is listed twice" for a, c in sorted(set(pairs)) if pairs.count((a, c)) > 1]
    elif s.answers:
        out.append("answers: only with read: answer")
    if s.read == "months_since":
        if resource_type != "Procedure":
            out.append("read months_since: only a procedure has a performed date")
        if spec.kind != "integer":
            out.append(f"read months_since: {s.field} is not a whole-number field")
    if s.units and s.read != "quantity":
        out.append("units: only with read: quantity")
    return out


def _red_flag_problems(s: _SetEntry, flags: tuple[RedFlag, ...]) -> list[str]:
    """A record may set a red flag present, never absent: a value (or an answer) for a red-flag field
    must make its red flag present, and the question may be asked only without limiting the answer."""
    if not any(s.field in flag.fields for flag in flags):
        return []
    values = [s.value] if s.value is not None else [a.value for a in s.answers if a.value != UNKNOWN]
    out = [
        f"{s.field} {v!r} would not make its red flag present: a record may set a red flag, never clear it"
        for v in values
        if not any(flag.present({s.field: v}) for flag in flags)
    ]
    if isinstance(s.ask, list):
        out.append(f"ask: a red flag ({s.field}) is asked with any answer (`ask: any`), never a limited one")
    return out


def _setting(s: _SetEntry) -> Setting:
    return Setting(
        field=s.field,
        value=s.value,
        read=s.read,
        ask=tuple(s.ask) if isinstance(s.ask, list) else None,
        ask_any=s.ask == "any",
        units=tuple(s.units),
        answers=tuple(Answer(a.system, a.code, a.display, a.value) for a in s.answers),
    )


def _allowed(spec: FieldSpec, value: Any) -> bool:
    if spec.kind == "number" and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    return spec.accepts(value)


def _duplicates(entries: list[CodeEntry], problem) -> None:
    """A (system, code) pair mapped twice, or a code that a prefix entry already covers."""
    for i, a in enumerate(entries):
        for b in entries[i + 1 :]:
            if a.system != b.system:
                continue
            same = a.code == b.code
            covered = (a.prefix and b.code.startswith(a.code)) or (b.prefix and a.code.startswith(b.code))
            if same or covered:
                what = "mapped twice" if same else f"overlaps {a.code}{'*' if a.prefix else ''}"
                problem(f"{b.resource_type} {b.system}|{b.code}", f"{what} (each code may be mapped once)")
