"""Explore: every option's verdict as one or two factors vary, and two scenarios side by side.

A sweep validates each point through PatientFactors, so a point that breaks a
cross-field rule (more weeks of conservative care than weeks of symptoms, a
slip grade without a slip type) is reported as skipped, never assessed. The
sampled values include each threshold the rules use for the field and the
values just either side of it, so every change of verdict shows at its true
boundary. Nothing here decides a verdict: each point is one engine pass of the
DecisionAid the caller passes in (the page's), and the thresholds are those of its
knowledge.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from decision_aid.engine.assessment import DecisionAid
from decision_aid.engine.verdicts import VERDICT_RANK
from decision_aid.errors import InputError, InputProblem
from decision_aid.knowledge.fields import FieldSpec, fields
from decision_aid.knowledge.labels import field_label, show_value
from decision_aid.knowledge.loader import Knowledge, candidate_values
from decision_aid.models import OPTIONS, OptionAssessment, PatientFactors, parse_factors

MAX_POINTS = 2500  # engine passes in one sweep (about 0.6 ms each): keeps a page rerun quick


# ---- the starting patient in a few words -------------------------------------------------

_RED_FLAGS = ("cauda_equina_syndrome", "suspected_infection", "suspected_tumour", "suspected_fracture")


def summary(patient: Mapping[str, Any] | PatientFactors, knowledge: Knowledge | None = None) -> str:
    """Who a patient is, in a few words, for saying which patient Explore starts from:
    "age 63, back and leg pain for 52 weeks (28 of structured care), 1 symptomatic level, grade I
    degenerative slip, severe stenosis". Values are shown as every view shows them (grades in Roman
    numerals); a red flag or a previous fusion is always named."""
    values = parse_factors(_plain(patient)).model_dump()
    shown = knowledge.thresholds if knowledge is not None else None

    def text(name: str) -> str:
        return show_value(name, values[name], shown)

    pain = {(True, True): "back and leg pain", (True, False): "back pain", (False, True): "leg pain"}.get(
        (values["back_pain"], values["leg_pain"]), "no back or leg pain"
    )
    weeks, care = values["symptom_duration_weeks"], values["conservative_care_weeks"]
    lasted = f"{pain} for {text('symptom_duration_weeks')} week{'' if weeks == 1 else 's'}"
    parts = [
        f"age {text('age')}",
        f"{lasted} ({text('conservative_care_weeks')} of structured care)"
        if care
        else f"{lasted}, no structured care yet",
        f"{text('levels')} symptomatic level{'' if values['levels'] == 1 else 's'}",
    ]
    if values["slip_grade"]:
        parts.append(f"grade {text('slip_grade')} {values['slip_type']} slip")
    elif values["slip_type"] == "isthmic":
        parts.append("a pars defect without a slip")
    else:
        parts.append("no slip")
    stenosis = values["stenosis"]
    parts.append(
        "stenosis not known" if stenosis is None else "no stenosis" if stenosis == "none" else f"{stenosis} stenosis"
    )
    if values["disc_herniation"] not in (None, "none"):
        parts.append(f"disc herniation ({text('disc_herniation')})")
    if values["prior_fusion"] != "none":
        parts.append(f"previous fusion ({text('prior_fusion')})")
    flags = [field_label(name) for name in _RED_FLAGS if values[name]]
    if flags:
        parts.append(f"red flag: {', '.join(flags)}")
    return ", ".join(parts)


# ---- which values to try ------------------------------------------------------------


def is_numeric(name: str) -> bool:
    return fields()[name].kind in ("integer", "number")


def thresholds(name: str, knowledge: Knowledge) -> list[Any]:
    """The values the rules compare this field with, in order (numbers only)."""
    found = knowledge.thresholds.get(name, set())
    return sorted(v for v in found if isinstance(v, (int, float)) and not isinstance(v, bool))


def default_range(name: str, knowledge: Knowledge) -> tuple[float, float]:
    """A starting range for a numeric field: its thresholds with room either side, within its limits."""
    spec = fields()[name]
    marks = thresholds(name, knowledge)
    if not marks:
        return _as_kind(spec, spec.minimum), _as_kind(spec, spec.maximum)
    span = marks[-1] - marks[0]
    pad = max(span, abs(marks[-1]), 10 * spec.step)
    low = max(spec.minimum, marks[0] - pad)
    high = min(spec.maximum, marks[-1] + pad)
    return _as_kind(spec, low), _as_kind(spec, high)


def sweep_values(
    name: str,
    knowledge: Knowledge,
    low: float | None = None,
    high: float | None = None,
    points: int = 41,
    include_unknown: bool = True,
) -> list[Any]:
    """The values to try for one field.

    Numbers: `points` evenly spaced values from `low` to `high` (the field's
    limits by default), plus every threshold the rules of `knowledge` use in that range and
    the values just either side of it. Strings and booleans: every allowed
    value. `None` ("not known") last, when the field allows it and
    `include_unknown` is set (numbers are plotted on an axis, so never there).
    """
    spec = fields()[name]
    if spec.kind in ("string", "boolean"):
        out = list(spec.values)
        return out + [None] if include_unknown and spec.nullable else out
    low = spec.minimum if low is None else max(spec.minimum, low)
    high = spec.maximum if high is None else min(spec.maximum, high)
    if low > high:
        raise ValueError(f"the range of {name} is empty ({low} to {high})")
    points = max(points, 2)
    spaced = {_as_kind(spec, low + (high - low) * i / (points - 1)) for i in range(points)}
    marks = thresholds(name, knowledge)
    near = candidate_values(spec, set(marks)) if marks else []
    return sorted(spaced | {v for v in near if low <= v <= high})


def _as_kind(spec: FieldSpec, value: float) -> int | float:
    return int(round(value)) if spec.kind == "integer" else round(float(value), 1)


# ---- sweeps --------------------------------------------------------------------------


@dataclass(frozen=True)
class SkippedPoint:
    """A point of the sweep that breaks an input rule, with the problems found."""

    values: dict[str, Any]
    problems: tuple[InputProblem, ...]


@dataclass(frozen=True)
class Sweep:
    """A tidy table: one row per point and option, with the point's values, `option` and `verdict`."""

    fields: tuple[str, ...]
    values: tuple[tuple[Any, ...], ...]  # each field's values, in the order tried
    rows: list[dict[str, Any]]
    skipped: list[SkippedPoint]
    thresholds: dict[str, tuple[Any, ...]]  # each field's numeric thresholds in the rules of the knowledge used

    def verdicts_at(self, **values: Any) -> dict[str, str]:
        """option -> verdict at one point of the sweep."""
        return {r["option"]: r["verdict"] for r in self.rows if all(r[k] == v for k, v in values.items())}

    def runs(self) -> dict[str, list[tuple[Any, Any, str]]]:
        """For a one-factor sweep: option -> (first value, last value, verdict) for each stretch of one verdict.

        A skipped (invalid) point ends every stretch, so none spans values that were not assessed.
        """
        if len(self.fields) != 1:
            raise ValueError("runs are defined for a one-factor sweep")
        (name,) = self.fields
        at: dict[Any, dict[str, str]] = {}
        for row in self.rows:
            at.setdefault(row[name], {})[row["option"]] = row["verdict"]
        out: dict[str, list[tuple[Any, Any, str]]] = {o: [] for o in OPTIONS}
        joined = False
        for value in self.values[0]:
            if value not in at:
                joined = False
                continue
            for option, verdict in at[value].items():
                stretches = out[option]
                if joined and stretches[-1][2] == verdict:
                    stretches[-1] = (stretches[-1][0], value, verdict)
                else:
                    stretches.append((value, value, verdict))
            joined = True
        return out


def sweep(
    base: Mapping[str, Any] | PatientFactors,
    axes: Mapping[str, Sequence[Any]],
    aid: DecisionAid,
    jurisdiction: str | None = None,
) -> Sweep:
    """Every option's verdict at each combination of the values in `axes` (one or two fields), under
    `jurisdiction` ('uk', the default, or 'us'; never varied).

    `base` is the patient whose other factors stay fixed; it must itself be valid.
    A point that is not a valid patient is skipped and listed with its problems.
    """
    if not 1 <= len(axes) <= 2:
        raise ValueError("sweep one or two factors")
    names = tuple(axes)
    for name in names:
        if name not in fields():
            raise ValueError(f"unknown field '{name}'")
    grid = list(itertools.product(*(axes[n] for n in names)))
    if len(grid) > MAX_POINTS:
        raise ValueError(f"{len(grid)} points is too many (at most {MAX_POINTS}): use fewer values")
    start = parse_factors(dict(base) if isinstance(base, Mapping) else base).model_dump()
    rows: list[dict[str, Any]] = []
    skipped: list[SkippedPoint] = []
    for combo in grid:
        point = dict(zip(names, combo, strict=True))
        try:
            patient = parse_factors({**start, **point})
        except InputError as error:
            skipped.append(SkippedPoint(point, tuple(error.problems)))
            continue
        for option, verdict in aid.verdicts(patient.known_values(), jurisdiction=jurisdiction).items():
            rows.append({**point, "option": option, "verdict": verdict})
    marks = {n: tuple(thresholds(n, aid.knowledge)) for n in names}
    return Sweep(names, tuple(tuple(axes[n]) for n in names), rows, skipped, marks)


# ---- two scenarios ---------------------------------------------------------------------


@dataclass(frozen=True)
class Difference:
    field: str
    a: Any
    b: Any


@dataclass(frozen=True)
class ReasonShown:
    """A reason behind an option's verdict in one scenario: its effect, its rule and the clinician's
    explanation (as the assessment gives it)."""

    effect: str
    rule_id: str
    explanation: str


@dataclass(frozen=True)
class OptionComparison:
    option: str
    verdict_a: str
    verdict_b: str
    only_a: tuple[ReasonShown, ...]  # reasons behind this option's verdict in A only (an effect of a rule)
    only_b: tuple[ReasonShown, ...]

    @property
    def change(self) -> str:
        """same, better or worse for B against A; "different" between the two equal-ranked verdicts."""
        if self.verdict_a == self.verdict_b:
            return "same"
        a, b = VERDICT_RANK[self.verdict_a], VERDICT_RANK[self.verdict_b]
        return "better" if b < a else "worse" if b > a else "different"


@dataclass(frozen=True)
class Comparison:
    differences: list[Difference]
    options: list[OptionComparison]
    urgent_a: bool
    urgent_b: bool
    jurisdictions: tuple[str, str] = ("uk", "uk")  # A's and B's

    @property
    def changed(self) -> list[OptionComparison]:
        return [o for o in self.options if o.change != "same"]


def compare(
    a: Mapping[str, Any] | PatientFactors,
    b: Mapping[str, Any] | PatientFactors,
    aid: DecisionAid,
    jurisdiction: str | None = None,
    jurisdiction_b: str | None = None,
) -> Comparison:
    """Scenario A against scenario B: each option's verdict in both, what reasons differ, which factors differ.

    A is assessed under `jurisdiction` (the default, uk, when None), B under `jurisdiction_b` (else
    A's). Raises InputError (naming the field, or `jurisdiction`) when either scenario is not valid.
    """
    patient_a, patient_b = parse_factors(_plain(a)), parse_factors(_plain(b))
    first = aid.assess(patient_a, jurisdiction)
    second = aid.assess(patient_b, jurisdiction_b or first.jurisdiction)
    values_a, values_b = patient_a.model_dump(), patient_b.model_dump()
    differences = [Difference(n, values_a[n], values_b[n]) for n in values_a if values_a[n] != values_b[n]]
    options = []
    for option in OPTIONS:
        reasons_a = _reasons(first.options[option])
        reasons_b = _reasons(second.options[option])
        options.append(
            OptionComparison(
                option,
                first.options[option].verdict,
                second.options[option].verdict,
                tuple(r for key, r in reasons_a.items() if key not in reasons_b),
                tuple(r for key, r in reasons_b.items() if key not in reasons_a),
            )
        )
    return Comparison(
        differences, options, first.urgent_referral, second.urgent_referral, (first.jurisdiction, second.jurisdiction)
    )


def compare_jurisdictions(patient: Mapping[str, Any] | PatientFactors, aid: DecisionAid) -> Comparison:
    """The same patient under UK guidance (A) and under USA guidance (B), side by side."""
    return compare(patient, patient, aid, "uk", "us")


def _plain(factors: Mapping[str, Any] | PatientFactors) -> dict[str, Any] | PatientFactors:
    return dict(factors) if isinstance(factors, Mapping) else factors


def _reasons(result: OptionAssessment) -> dict[tuple[str, str], ReasonShown]:
    """(effect, rule id) -> the reason, in the assessment's order."""
    return {(r.effect, r.rule_id): ReasonShown(r.effect, r.rule_id, r.explanation) for r in result.reasons}
