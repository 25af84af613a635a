"""Patient texts that are right: no text a patient reads says what their findings contradict.

Every patient-view text that has a condition is checked: the condition descriptions
(rules/patient_view/conditions.yaml), each rule's and red flag's plain-language reason
or note, and each Option Grid figure with a `when:`. A small table (CLAIMS) lists what a
text may claim about the patient (found by its words) and the situation, written in the
condition language, that contradicts the claim. For each text that makes a claim, the
test searches the exhaustive threshold grid of every field that the text's condition
and the situation read, directly or through findings (decision_aid.knowledge.loader.candidate_values,
as the agreement proof builds its grids), for a valid patient for whom the text would be
shown while the situation holds. Any such patient is a contradiction, named with its values.

Findings whose fields nothing else reads are not expanded field by field: one witness
patient per combination of their states stands for them (as in decision_aid.engine.agreement),
which keeps the search exhaustive and small. A tag (set by other rules) is tried both set
and not set. A rule's text counts as shown whenever its condition holds, even where
another rule makes its option not applicable: stricter than the view itself.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

import pytest

from decision_aid.knowledge import conditions as cond
from decision_aid.knowledge.fields import fields
from decision_aid.knowledge.loader import Knowledge, candidate_values, check_condition, load, with_dependencies
from decision_aid.knowledge.reading import derive_states, holds
from decision_aid.models import PatientFactors
from decision_aid.views.patient_view import load as load_view


@dataclass(frozen=True)
class Claim:
    what: str  # what a matching text tells the patient
    words: str  # a regular expression (case-insensitive) for texts that say it
    contradicted_when: str  # a condition (rules language) under which the claim is false or not known


CLAIMS = [
    Claim(
        "an earlier fusion has failed",
        r"\bfailed fusion\b|\bnot worked as planned\b|\byour old fusion\b[^.]*\b(not|failed|loosened|broken)\b",
        "prior_fusion in ('none', 'solid')",
    ),
    Claim(
        "the spine or slip is steady",
        r"\b(is|are|stays?|feels?) (steady|stable)\b|\b(steady|stable) (spine|slip|back|bones?)\b",
        # steady only when flexion-extension films measured both movements and found no instability
        "dynamic_instability is present or dynamic_instability is unknown"
        " or translation_mm is unknown or angulation_deg is unknown",
    ),
    Claim(
        "the bones move more than normal",
        r"\bmoves? (more than normal|too much) when you bend\b",
        "dynamic_instability is absent or dynamic_instability is unknown",
    ),
    Claim(
        "a bone has slipped",
        r"\b(slid|slipped) forward\b|\byou have a slipped bone\b(?! or)|\byour slip(ped bone)?\b|\bslip of one bone\b",
        "slip_grade == 0",
    ),
    Claim(
        "the slip is small",
        r"\b(slid|slipped)\b[^.]*\ba little\b|\bsmall slip\b",
        "slip_grade >= 2",
    ),
    Claim(
        "the patient has leg pain",
        r"(?<!can )(?<!may )\bcauses? (your )?(leg pain|pain down the leg)\b|\byour leg pain\b|\byou have leg pain\b",
        "leg_pain == false",
    ),
    Claim(
        "the patient has had a fusion",
        r"\byour old fusion\b|\byou have had a fusion\b"
        r"|\ban earlier operation to join\b|\byou had an operation to join\b",
        "prior_fusion == 'none'",
    ),
    Claim(
        "the problem is next to an earlier fusion",
        r"\bnext to (an|your|the) (old|earlier) (fusion|operation)\b|\bnext to the joined bones\b",
        "adjacent_segment_disease == false",
    ),
    Claim(
        "the bones are thin",
        r"(?<!if )\byour bones are (a little )?thin",  # "if your bones are thin" claims nothing
        "osteoporosis is unknown or (osteoporosis is absent and osteopenia is absent)"
        " or (osteoporosis is absent and osteopenia is unknown)",
    ),
]


@dataclass(frozen=True)
class Text:
    where: str  # file and item
    text: str
    expr: cond.Expr  # when the patient is shown it


@cache
def knowledge() -> Knowledge:
    return load()


@cache
def texts() -> tuple[Text, ...]:
    kb = knowledge()
    view = load_view(kb)
    out = [
        Text(f"patient_view/conditions.yaml: {c.id}", f"{c.name}. {c.text}", cond.parse(c.when))
        for c in view.conditions.conditions
    ]
    out += [Text(f"{c.file}: {c.spec.id}", c.spec.patient_explanation, c.expr) for c in (*kb.rules, *kb.red_flags)]
    for option, column in view.grid.options.items():
        for row, cell in column.cells.items():
            for figure in cell.figures:
                if figure.when is not None:
                    where = f"patient_view/option_grid.yaml: options.{option}.{row}"
                    out.append(Text(where, figure.text, cond.parse(figure.when)))
    return tuple(out)


# ---- the search ------------------------------------------------------------------------------------

# Fields a valid patient must choose together (the contract's cross-field checks).
_TOGETHER = (
    {"slip_grade", "slip_type"},
    {"prior_fusion", "adjacent_segment_disease", "months_since_fusion"},
    {"conservative_care_weeks", "symptom_duration_weeks"},
)


def _closed(names: set[str]) -> set[str]:
    out = set(names)
    for group in _TOGETHER:
        if out & group:
            out |= group
    return out


@cache
def _base() -> dict[str, Any]:
    """A valid patient with no red flag; the search varies the fields it tests."""
    required = {
        "age": 50,
        "back_pain": True,
        "leg_pain": True,
        "symptom_duration_weeks": 52,
        "levels": 1,
        "slip_grade": 0,
    }
    base = {}
    for name, info in PatientFactors.model_fields.items():
        if info.is_required():
            base[name] = required[name]
        elif info.default is not None:
            base[name] = info.default
    assert PatientFactors.allows(base)
    return base


def _grid(kb: Knowledge, names: list[str], expr: cond.Expr) -> Iterator[dict[str, Any]]:
    own = cond.thresholds(expr)
    values = [
        candidate_values(fields()[n], kb.thresholds.get(n, set()) | own.get(n, set()), with_null=True) for n in names
    ]
    for combo in itertools.product(*values):
        yield dict(zip(names, combo, strict=True))


def _point(*parts: dict[str, Any]) -> dict[str, Any]:
    merged = dict(_base())
    for part in parts:
        merged.update(part)
    return {k: v for k, v in merged.items() if v is not None}


def patients_where(expr: cond.Expr) -> Iterator[dict[str, Any]]:
    """Every valid patient on the exhaustive grid for whom `expr` holds (up to the witness
    patients standing for findings that nothing else in `expr` shares a field with)."""
    kb = knowledge()
    finding_ids = {f.spec.id for f in kb.findings}
    read = cond.state_names(expr)
    findings = sorted(read & finding_ids)
    tags = sorted(read - finding_ids)
    direct = _closed(cond.field_names(expr))

    # findings grouped by the fields they share; a group sharing a field with `expr` is expanded
    groups: list[tuple[set[str], set[str]]] = []  # (findings, fields)
    for fid in findings:
        group = ({fid}, _closed(set(kb.finding_fields[fid])))
        for other in [g for g in groups if g[1] & group[1]]:
            groups.remove(other)
            group = (group[0] | other[0], group[1] | other[1])
        groups.append(group)
    expanded = set(direct)
    witnessed = []
    for ids, names in groups:
        if names & direct:
            expanded |= names
        else:
            witnessed.append((ids, names))

    needed = with_dependencies(kb, findings)
    witness_lists = []
    for ids, names in witnessed:
        by_states: dict[tuple, dict[str, Any]] = {}
        for values in _grid(kb, sorted(names), expr):
            point = _point(values)
            if PatientFactors.allows(point):
                states = derive_states(kb, point, only=with_dependencies(kb, ids))
                by_states.setdefault(tuple(states.get(i) for i in sorted(ids)), values)
        witness_lists.append(list(by_states.values()))

    for values in _grid(kb, sorted(expanded), expr):
        for witnesses in itertools.product(*witness_lists):
            point = _point(values, *witnesses)
            states = derive_states(kb, point, only=needed)
            for tag_states in itertools.product(("present", None), repeat=len(tags)):
                with_tags = states | {t: s for t, s in zip(tags, tag_states, strict=True) if s}
                if holds(expr, point, with_tags) and PatientFactors.allows(point):
                    yield point


def _described(point: dict[str, Any], expr: cond.Expr) -> str:
    """The patient's values of the fields `expr` reads, directly or through findings."""
    kb = knowledge()
    names = set(cond.field_names(expr))
    for name in cond.state_names(expr):
        names |= kb.finding_fields.get(name, frozenset())
    return ", ".join(f"{n}={point[n]!r}" if n in point else f"{n} not known" for n in sorted(_closed(names)))


def contradictions(claim: Claim) -> list[str]:
    situation = cond.parse(claim.contradicted_when)
    words = re.compile(claim.words, re.IGNORECASE)
    found = []
    for text in texts():
        if not words.search(" ".join(text.text.split())):
            continue
        both = cond.All((text.expr, situation))
        patient = next(patients_where(both), None)
        if patient is not None:
            found.append(f"{text.where} says {claim.what!r} for a patient with {_described(patient, both)}")
    return found


# ---- the tests ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("claim", CLAIMS, ids=lambda c: c.what)
def test_no_patient_text_claims_what_the_findings_contradict(claim):
    assert contradictions(claim) == []


@pytest.mark.parametrize("claim", CLAIMS, ids=lambda c: c.what)
def test_each_claim_is_a_valid_condition_and_some_shipped_text_makes_it(claim):
    _, problems = check_condition(claim.contradicted_when, {f.spec.id for f in knowledge().findings})
    assert problems == []
    words = re.compile(claim.words, re.IGNORECASE)
    assert any(words.search(" ".join(t.text.split())) for t in texts()), claim.what


def test_the_failed_fusion_text_is_only_for_a_fusion_that_failed():
    failed = next(t for t in texts() if t.where.endswith("conditions.yaml: failed_fusion"))
    for prior in ("none", "solid"):
        assert list(patients_where(cond.All((failed.expr, cond.parse(f"prior_fusion == '{prior}'"))))) == []
    for prior in ("pseudarthrosis", "hardware_failure"):
        assert next(patients_where(cond.All((failed.expr, cond.parse(f"prior_fusion == '{prior}'")))), None)


def test_a_solid_fusion_with_adjacent_segment_disease_has_its_own_plain_text():
    expr = cond.parse("prior_fusion == 'solid' and adjacent_segment_disease == true")
    patient = next(patients_where(expr))
    states = derive_states(knowledge(), patient)
    shown = [t for t in texts() if "conditions.yaml" in t.where and holds(t.expr, patient, states)]
    assert [t.where.rsplit(": ", 1)[-1] for t in shown] == ["adjacent_segment_disease"]


def test_the_search_finds_a_contradiction_where_there_is_one():
    # the shape of the bug this file guards against: a text about a failed fusion shown for
    # adjacent segment disease alone reaches a patient with a solid fusion
    bad = cond.parse("prior_fusion in ('pseudarthrosis', 'hardware_failure') or adjacent_segment_disease == true")
    patient = next(patients_where(cond.All((bad, cond.parse("prior_fusion == 'solid'")))))
    assert patient["prior_fusion"] == "solid" and patient["adjacent_segment_disease"] is True
    # and "steady" for a spine without flexion-extension films (no slip: instability counts as absent)
    steady = cond.parse("slip_grade == 0 and dynamic_instability is absent")
    situation = cond.parse(CLAIMS[1].contradicted_when)
    patient = next(patients_where(cond.All((steady, situation))))
    assert "translation_mm" not in patient or "angulation_deg" not in patient


def test_the_search_only_returns_valid_patients():
    expr = cond.parse("slip_type == 'degenerative' and prior_fusion == 'solid'")
    patients = list(patients_where(expr))
    assert patients and all(PatientFactors.allows(p) for p in patients)
    assert all(p["slip_grade"] >= 1 for p in patients)
