"""The factors form as data: groups, help text, what each input starts with, and the answers read
into a patient with every problem found at once, in the form's words.

Kept out of the page so it can be tested without Streamlit. Groups, questions, help
text, units, which fields are asked explicitly and the words of the cross-field
problems are declared in rules/fields.yaml (help follows clinical-reference.md
section 7); allowed ranges and the cross-field checks themselves come from the input
contract, so they cannot drift from validation.

What the form starts with is honest: a nullable field starts "not known", a required
one empty, and a field the form asks explicitly (`asked: explicitly`: the red flags,
the motor deficit, weeks of conservative care) empty although the contract has a
default for a file that omits it. Only a field whose contract default is a real
answer that needs no asking (activity level, previous fusion) starts at it.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from pydantic import ValidationError

from decision_aid.json_text import NumberText, show
from decision_aid.knowledge import conditions as cond
from decision_aid.knowledge.fields import FieldSpec, fields, groups
from decision_aid.knowledge.labels import field_label, show_value
from decision_aid.knowledge.reading import holds
from decision_aid.models import PatientFactors

NOT_KNOWN = "not known"
REQUIRED_WORDS = "Required: please answer this."
RED_FLAG_WORDS = "Please answer yes or no (or tick “None of these” if none is present)."

# The form's groups and order, its questions and help: from rules/fields.yaml.
GROUPS = groups()
QUESTIONS = {name: spec.question for name, spec in fields().items() if spec.question}
RED_FLAGS: tuple[str, ...] = tuple(QUESTIONS)  # each asked as a question, with one "none of these" for all
_ORDER = [name for _, names in GROUPS for name in names]

# The fields the contract requires, and those the form asks although the contract has a default:
# the form starts them empty, so none is assumed, and Assess needs an answer to each.
REQUIRED: tuple[str, ...] = tuple(n for n, info in PatientFactors.model_fields.items() if info.is_required())
ASKED: tuple[str, ...] = tuple(n for n, spec in fields().items() if spec.asked)


def unit(name: str) -> str:
    """The unit shown beside a number ("mm", "°", "HU", "weeks"), or "" for none."""
    return fields()[name].unit or ""


def with_unit(name: str, text: str) -> str:
    """A number (or a range) with its unit as the form writes it: "12 weeks", "5°"."""
    shown = unit(name)
    if not shown:
        return text
    return f"{text}{shown}" if shown == "°" else f"{text} {shown}"


def help_text(name: str) -> str:
    """Help for one input: meaning, allowed range and what leaving it empty means."""
    spec = fields()[name]
    parts = [spec.help]
    if spec.kind in ("integer", "number"):
        parts.append(f"Allowed: {_range(spec)}.")
    if spec.nullable:
        parts.append(f"Choose '{NOT_KNOWN}' (or leave empty) if it was not measured: it never counts as normal.")
    elif name in REQUIRED:
        parts.append("Required.")
    elif spec.asked:
        default = PatientFactors.model_fields[name].default
        parts.append(
            f"Required here: nothing is assumed until it is asked (a patient file that leaves it out means "
            f"{with_unit(name, show_value(name, default))})."
        )
    else:
        default = PatientFactors.model_fields[name].default
        parts.append(
            f"Starts at '{show_value(name, default)}' (what a patient file that leaves it out means); "
            "change it if it differs."
        )
    return " ".join(p for p in parts if p)


def _range(spec: FieldSpec) -> str:
    return with_unit(spec.name, f"{_num(spec.minimum)} to {_num(spec.maximum)}")


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def default_answer(spec: FieldSpec) -> Any:
    """What the form starts with: None (not known, or empty to be answered) for a nullable, required
    or explicitly asked field; otherwise the contract's default, shown as the answer."""
    info = PatientFactors.model_fields[spec.name]
    if spec.nullable or spec.asked or info.is_required():
        return None
    return info.default


# ---- the answers read ------------------------------------------------------------------------


@dataclass(frozen=True)
class Reading:
    """The answers read: the patient they give and every problem, each in the form's words."""

    patient: dict[str, Any]  # the valid answers as JSON values (not known left out)
    problems: dict[str, str]  # field -> what is wrong, in the form's order

    @property
    def ok(self) -> bool:
        return not self.problems


def read_answers(answers: Mapping[str, Any]) -> Reading:
    """Every problem at once: unanswered questions, values out of range, and the contract's
    cross-field checks run on the answers that are valid (a check that an unanswered or
    invalid value could still decide waits for it)."""
    patient, problems = _valid(answers)
    for name, message in _cross_field(patient, set(problems)).items():
        problems.setdefault(name, message)
    return Reading(patient, {name: problems[name] for name in _ORDER if name in problems})


def read_file_values(values: Mapping[str, Any]) -> Reading:
    """A patient file's values read as the form reads its answers: every problem at once (values of the
    wrong type or out of range together with the contract's cross-field checks, which pydantic runs only
    once every value is valid), in the form's words, labels and units. A field the file leaves out means
    the contract's default, as for the CLI; a required one is a problem. Names that are not fields are left
    to the caller (the contract names them)."""
    patient: dict[str, Any] = {}
    problems: dict[str, str] = {}
    for name, spec in fields().items():
        if name not in values:
            if name in REQUIRED:
                problems[name] = FILE_REQUIRED_WORDS
            continue
        value = values[name]
        message = _file_value_problem(spec, value)
        if message:
            problems[name] = message
        elif value is not None:
            patient[name] = _json_type(spec, value)
    for name, message in _cross_field(patient, set(problems)).items():
        problems.setdefault(name, message)
    return Reading(patient, {name: problems[name] for name in _ORDER if name in problems})


FILE_REQUIRED_WORDS = "Required: the file does not give it."


def _file_value_problem(spec: FieldSpec, value: Any) -> str | None:
    """What is wrong with one value of a file, in the form's words (None: nothing)."""
    if value is None:
        return (
            None if spec.nullable else f"Must be answered; the file gives null (not known). Allowed: {_allowed(spec)}."
        )
    if isinstance(value, NumberText):
        return f"Allowed: {_allowed(spec)}; the file gives {show(value)}, far outside it."
    numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
    if spec.kind in ("integer", "number") and numeric:
        value = _json_type(spec, value)
        return None if spec.accepts(value) else _out_of_range(spec, value)
    if spec.kind == "boolean" and isinstance(value, bool) or spec.kind == "string" and value in spec.values:
        return None
    return f"Allowed: {_allowed(spec)}; the file gives {show(value)}."


def _allowed(spec: FieldSpec) -> str:
    """The allowed answers as the form shows them: "18 to 110 years", "yes or no (true or false in the file)",
    "low, moderate or high", "0 (no slip), I, II, III, IV or V"."""
    if spec.kind == "boolean":
        return "yes or no (true or false in the file)"
    if spec.kind == "string" or spec.value_words:
        values = spec.values if spec.kind == "string" else range(int(spec.minimum), int(spec.maximum) + 1)
        shown = [show_value(spec.name, v) for v in values]
        return f"{', '.join(shown[:-1])} or {shown[-1]}"
    return _range(spec)


def answers_to_factors(answers: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Every answer given, as the JSON value a file would hold (not known left out, values out of
    range kept, for the contract to judge), and the questions not yet answered (required, or asked
    explicitly)."""
    patient: dict[str, Any] = {}
    missing: list[str] = []
    for name, spec in fields().items():
        value = answers.get(name)
        if value is None or value == NOT_KNOWN:
            if name in REQUIRED or spec.asked:
                missing.append(name)
            continue
        patient[name] = _json_type(spec, value)
    return patient, missing


def choices(name: str, answers: Mapping[str, Any]) -> tuple[Any, ...]:
    """The values of a choice field that the contract's cross-field checks allow beside the other
    answers (all of them while what decides it is unanswered): the slip type follows the grade."""
    spec = fields()[name]
    patient, problems = _valid({**answers, name: None})
    problems.pop(name, None)
    return tuple(v for v in spec.values if name not in _cross_field({**patient, name: v}, set(problems)))


def _valid(answers: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The answers that are valid alone, given the field's JSON type; the problems of the others."""
    patient: dict[str, Any] = {}
    problems: dict[str, str] = {}
    for name, spec in fields().items():
        value = answers.get(name)
        if value is None or value == NOT_KNOWN:
            if name in REQUIRED or spec.asked:
                problems[name] = RED_FLAG_WORDS if name in QUESTIONS else REQUIRED_WORDS
            continue
        value = _json_type(spec, value)
        if spec.accepts(value):
            patient[name] = value
        else:
            problems[name] = _out_of_range(spec, value)
    return patient, problems


def _json_type(spec: FieldSpec, value: Any) -> Any:
    """What a JSON file would give: 63.0 for an integer field is 63, 27 for a number field is 27.0."""
    if isinstance(value, bool):
        return value
    if spec.kind == "integer" and isinstance(value, float) and value.is_integer():
        return int(value)
    if spec.kind == "number" and isinstance(value, int):
        return float(value)
    return value


def _out_of_range(spec: FieldSpec, value: Any) -> str:
    if spec.kind not in ("integer", "number") or isinstance(value, bool) or not isinstance(value, (int, float)):
        return "Choose one of the answers offered."
    if spec.kind == "integer" and not float(value).is_integer():
        return f"Allowed: whole numbers from {_range(spec)}."
    if spec.value_words:  # offered as choices (a slip grade in Roman numerals)
        return f"Allowed: {_allowed(spec)}; {show_value(spec.name, value)} is not one of these."
    return f"Allowed: {_range(spec)}; {with_unit(spec.name, show_value(spec.name, value))} is outside this range."


# ---- the contract's cross-field checks, on what is valid ---------------------------------------


def _cross_field(patient: dict[str, Any], open_: set[str]) -> dict[str, str]:
    """field -> the form's words for each cross-field check that fails whatever the open fields
    (unanswered or invalid) turn out to be. The contract model runs the checks: the open fields are
    given stand-in values, and a problem counts only if no single stand-in value makes it go away."""
    stand_in = {name: _candidates(name)[0] for name in open_}
    probe = {**patient, **{n: v for n, v in stand_in.items() if v is not None}}
    failing = {n: m for n, m in _failing(probe).items() if n not in open_}
    for other in sorted(open_):
        for value in _candidates(other)[1:]:
            if not failing:
                break
            still = _failing(_with(probe, other, value))
            failing = {n: m for n, m in failing.items() if n in still}
    values = _with_defaults(probe)
    return {name: _words(name, message, values) for name, message in failing.items()}


def _with(values: dict[str, Any], name: str, value: Any) -> dict[str, Any]:
    out = {k: v for k, v in values.items() if k != name}
    if value is not None:
        out[name] = value
    return out


def _failing(values: dict[str, Any]) -> dict[str, str]:
    """field -> the contract's cross-field message for these (individually valid) values."""
    try:
        PatientFactors.model_validate(values)
    except ValidationError as error:
        return {
            str(e["loc"][0]): e["msg"]
            for e in error.errors(include_url=False)
            if e["type"] == "cross_field" and e["loc"]
        }
    return {}


@cache
def _candidates(name: str) -> tuple[Any, ...]:
    """Values an open field could turn out to have: each choice, or the ends of its range."""
    spec = fields()[name]
    if spec.kind in ("integer", "number"):
        cast = int if spec.kind == "integer" else float
        values: tuple[Any, ...] = (cast(spec.minimum), cast(spec.maximum))
    else:
        values = tuple(spec.values)
    return ((None,) if spec.nullable else ()) + values


def _with_defaults(values: dict[str, Any]) -> dict[str, Any]:
    """The values with the contract's default for each field left out (what the checks read)."""
    defaults = {n: info.default for n, info in PatientFactors.model_fields.items() if not info.is_required()}
    return {n: v for n, v in {**defaults, **values}.items() if v is not None}


def _words(name: str, message: str, values: dict[str, Any]) -> str:
    """The declared words for a cross-field problem at this field (the first whose condition holds),
    or the contract's message with field names as the form's labels."""
    for check in fields()[name].cross_field:
        if check.when is None or holds(_parsed(check.when), values, {}):
            return string.Formatter().vformat(check.say, (), _Shown(values))
    return readable(message)


@cache
def _parsed(condition: str) -> cond.Expr:
    return cond.parse(condition)


class _Shown(dict):
    """Field values as the form shows them, for the declared words' {field} placeholders."""

    def __init__(self, values: dict[str, Any]):
        super().__init__()
        self.values = values

    def __missing__(self, name: str) -> str:
        value = self.values.get(name)
        return with_unit(name, show_value(name, value)) if value is not None else NOT_KNOWN


def readable(message: str, names: Iterable[str] | None = None) -> str:
    """A contract message in the form's words: field names as labels, a capital first letter."""
    known = set(fields() if names is None else names)
    text = re.sub(r"\b[a-z]+(?:_[a-z0-9]+)+\b", lambda m: f"'{field_label(m[0])}'" if m[0] in known else m[0], message)
    return text[:1].upper() + text[1:]
