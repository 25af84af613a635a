"""Teaching: the case library, scoring a learner's verdicts, and the reasoning step by step.

Cases live in rules/teaching_cases/*.yaml beside the knowledge they teach. Each
has a history, the factors (validated as a patient), the verdicts the engine
gives (so a rule change that alters a case is noticed and its teaching points
re-read) and teaching points citing rule and citation ids that must exist.
The answer a learner is scored against is always the engine's, never the file's:
the page or the test passes in the case's assessment (or the explained assessment,
with its trace) and the knowledge that made it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from decision_aid.engine.assessment import DecisionAid, Explained
from decision_aid.engine.verdicts import aggregate
from decision_aid.errors import InputError, KnowledgeError, KnowledgeProblem
from decision_aid.knowledge import conditions as cond
from decision_aid.knowledge.fields import settings
from decision_aid.knowledge.files import read_yaml, rules_dir
from decision_aid.knowledge.labels import describe_condition, field_label, show_value
from decision_aid.knowledge.loader import Knowledge, load
from decision_aid.knowledge.reading import holds
from decision_aid.models import (
    DEFAULT_JURISDICTION,
    OPTIONS,
    Assessment,
    Jurisdiction,
    Option,
    PatientFactors,
    Verdict,
    parse_factors,
)


def cases_dir() -> Path:
    return rules_dir() / "teaching_cases"


# ---- the case files -------------------------------------------------------------------


class TeachingPoint(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str
    rules: list[str] = Field(default_factory=list)  # rule, finding or red-flag ids from rules/
    evidence: list[str] = Field(default_factory=list)  # citation ids from bibliography.yaml


class CaseSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: str
    topics: list[str] = Field(default_factory=list)
    history: str
    factors: dict[str, Any]
    # the setting the case is assessed under (not a patient factor); its verdicts are the engine's under it
    jurisdiction: Jurisdiction = DEFAULT_JURISDICTION
    expected: dict[Option, Verdict]
    teaching_points: list[TeachingPoint] = Field(min_length=1)
    reviewed: dt.date


@dataclass(frozen=True)
class Case:
    spec: CaseSpec
    file: str
    patient: PatientFactors

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def title(self) -> str:
        return self.spec.title

    @property
    def jurisdiction(self) -> str:
        """The jurisdiction to assess the case under: `aid.explain(case.patient, case.jurisdiction)`."""
        return self.spec.jurisdiction


def load_cases(directory: Path | None = None, knowledge: Knowledge | None = None) -> list[Case]:
    """Every case, in file then listed order; raise KnowledgeError naming the file and case id of each problem.

    Rule and citation ids are checked against `knowledge` (by default, the knowledge base in rules/).
    """
    directory = directory or cases_dir()
    knowledge = knowledge or load()
    problems: list[KnowledgeProblem] = []
    cases: list[Case] = []
    seen: dict[str, str] = {}
    files = sorted(directory.glob("*.yaml"))
    if not files:
        problems.append(KnowledgeProblem(str(directory), "", "no teaching case files"))
    for path in files:
        name = f"teaching_cases/{path.name}"
        for item in _read(path, name, problems):
            found: list[str] = []
            case = _check(item, name, knowledge, found)
            case_id = str(item.get("id", "?")) if isinstance(item, dict) else "?"
            if case is not None:
                if case.id in seen:
                    found.append(f"duplicate case id (also in {seen[case.id]})")
                seen.setdefault(case.id, name)
            problems += [KnowledgeProblem(name, case_id, message) for message in found]
            if case is not None and not found:
                cases.append(case)
    if problems:
        raise KnowledgeError(problems)
    return cases


def _check(item: Any, file: str, knowledge: Knowledge, problems: list[str]) -> Case | None:
    """One case from its file entry; each problem found is added to `problems`."""
    try:
        spec = CaseSpec.model_validate(item)
    except ValidationError as error:
        for e in error.errors(include_url=False):
            where = ".".join(str(p) for p in e["loc"])
            problems.append(f"{where}: {e['msg']}" if where else e["msg"])
        return None
    problems += [f"expected: no verdict for {option}" for option in OPTIONS if option not in spec.expected]
    for point in spec.teaching_points:
        problems += [f"teaching point cites unknown rule id '{r}'" for r in point.rules if r not in knowledge.by_id]
        problems += [
            f"teaching point cites unknown citation id '{c}' (not in bibliography.yaml)"
            for c in point.evidence
            if c not in knowledge.citations
        ]
    try:
        patient = parse_factors(spec.factors)
    except InputError as error:
        problems += [f"factors.{p.field}: {p.message}" for p in error.problems]
        return None
    return Case(spec, file, patient)


def _read(path: Path, name: str, problems: list[KnowledgeProblem]) -> list[Any]:
    try:
        data = read_yaml(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        problems.append(KnowledgeProblem(name, "", f"cannot read: {error}"))
        return []
    if not isinstance(data, dict) or not isinstance(data.get("cases"), list):
        problems.append(KnowledgeProblem(name, "", "expected a top-level 'cases:' list"))
        return []
    return data["cases"]


# ---- scoring ------------------------------------------------------------------------------

# Asked first in every case (so its presence gives nothing away): a red flag makes it the whole answer.
TRIAGE_QUESTION = "Urgent referral or elective discussion?"
URGENT, ELECTIVE = "urgent", "elective"
TRIAGE_WORDS = {URGENT: "urgent referral", ELECTIVE: "elective discussion"}


@dataclass(frozen=True)
class OptionScore:
    option: str
    answer: str | None
    correct: str

    @property
    def right(self) -> bool:
        return self.answer == self.correct


@dataclass(frozen=True)
class TriageScore:
    """The learner's answer to "urgent referral or elective discussion?" against the engine's."""

    answer: str | None
    correct: str

    @property
    def right(self) -> bool:
        return self.answer == self.correct


@dataclass(frozen=True)
class Score:
    options: tuple[OptionScore, ...]  # empty for a red-flag case: every elective option is suspended
    triage: TriageScore | None = None

    @property
    def right(self) -> int:
        return sum(o.right for o in self.options) + (self.triage is not None and self.triage.right)

    @property
    def total(self) -> int:
        return len(self.options) + (self.triage is not None)


def score(correct: Mapping[str, str], answers: Mapping[str, str | None]) -> Score:
    """The learner's verdict for each option against the correct one; an unanswered option is wrong."""
    return Score(tuple(OptionScore(o, answers.get(o), correct[o]) for o in OPTIONS))


def triage_of(assessment: Assessment) -> str:
    """The right answer to the triage question for this assessment."""
    return URGENT if assessment.urgent_referral else ELECTIVE


def score_case(assessment: Assessment, answers: Mapping[str, str | None], triage: str | None = None) -> Score:
    """Score against the engine's verdicts for the case (its assessment, never the file's copy).

    The triage question ("urgent referral or elective discussion?") is scored first; an unanswered
    one is wrong. With a red flag it is the only point: every elective option is suspended, so no
    verdict is scored. Otherwise each option's verdict is scored too.
    """
    asked = TriageScore(triage, triage_of(assessment))
    if assessment.urgent_referral:
        return Score((), asked)
    return Score(score({o: r.verdict for o, r in assessment.options.items()}, answers).options, asked)


# ---- the reasoning, step by step ------------------------------------------------------


@dataclass(frozen=True)
class FactStep:
    field: str
    label: str
    value: str


@dataclass(frozen=True)
class FindingStep:
    id: str
    label: str
    state: str
    because: str  # the branch of that state's condition that holds, as readable text
    explanation: str


@dataclass(frozen=True)
class RuleStep:
    id: str
    kind: str  # "red flag" or "rule"
    options: tuple[str, ...]
    effects: tuple[str, ...]  # empty for a note
    note: str | None
    condition: str  # readable text
    explanation: str
    evidence: tuple[str, ...]


@dataclass(frozen=True)
class AggregationStep:
    option: str
    effects: tuple[tuple[str, str], ...]  # (rule id, effect), in firing order
    verdict: str
    applied: str  # which rule of the aggregation gave the verdict, in words
    fallback: bool  # the "nothing indicates it" reason was added


@dataclass(frozen=True)
class Reasoning:
    facts: tuple[FactStep, ...]  # the known values sent to the engine
    unknown: tuple[FactStep, ...]  # fields left null: not known, never taken as normal
    red_flags: tuple[RuleStep, ...]
    findings: tuple[FindingStep, ...]  # in the order the engine derived them
    rules: tuple[RuleStep, ...]  # in firing order
    aggregation: tuple[AggregationStep, ...]
    assessment: Assessment
    fallback_id: str  # the knowledge's "nothing indicates it" rule

    @property
    def cited_ids(self) -> set[str]:
        """Every rule, finding and red-flag id that took part (the fallback when it was applied)."""
        ids = {s.id for s in (*self.red_flags, *self.rules)} | {f.id for f in self.findings}
        return ids | ({self.fallback_id} if any(a.fallback for a in self.aggregation) else set())


# The aggregation (decision_aid.engine.verdicts.aggregate), one line per outcome, for the learner.
AGGREGATION_WORDS = {
    "urgent": "A red flag: urgent referral, so no elective rule is applied and every option is not applicable.",
    "not_applicable": "Any 'excludes' gives not applicable.",
    "opposes": "No 'excludes', and any 'opposes' gives not advised.",
    "nothing": "No rule supports it, so nothing indicates it: not advised.",
    "discuss_with_caution": "'supports' with any 'cautions' (no 'opposes' or 'excludes') gives discuss with caution.",
    "worth_discussing": "'supports' with no 'cautions', 'opposes' or 'excludes' gives worth discussing.",
}


def reasoning(explained: Explained, knowledge: Knowledge) -> Reasoning:
    """The engine's reasoning for one patient, from their explained assessment (`DecisionAid.explain`)
    and the knowledge that made it: facts, findings, rules fired, and each verdict's aggregation."""
    result = explained.result
    everything = explained.patient.model_dump()
    shown = knowledge.thresholds
    facts = tuple(FactStep(n, field_label(n), show_value(n, v, shown)) for n, v in everything.items() if v is not None)
    # the settings sent with the factors (the jurisdiction), in their declared words
    facts += tuple(
        FactStep(n, spec.label, spec.value_words.get(explained.facts[n], explained.facts[n]))
        for n, spec in settings().items()
        if n in explained.facts
    )
    unknown = tuple(FactStep(n, field_label(n), show_value(n, None, shown)) for n, v in everything.items() if v is None)
    flags = tuple(_rule_step(knowledge, f, "red flag") for f in result.red_flags)
    findings = tuple(
        FindingStep(
            f,
            knowledge.by_id[f].spec.label,
            state,
            _because(knowledge.by_id[f].states[state], explained.facts, result.findings),
            knowledge.by_id[f].spec.explanation,
        )
        for f, state in result.findings.items()
    )
    rules = tuple(_rule_step(knowledge, r, "rule") for r in result.fired)
    fallback_id = knowledge.fallback.spec.id
    aggregation = tuple(_aggregation(o, flags, rules, explained.assessment, fallback_id) for o in OPTIONS)
    return Reasoning(facts, unknown, flags, findings, rules, aggregation, explained.assessment, fallback_id)


def _because(expr: cond.Expr, values: dict[str, Any], states: dict[str, str]) -> str:
    """The branch of a condition that holds for these facts, as readable text (else the whole condition)."""
    for conjunct in cond.dnf(expr):
        if all(holds(atom, values, states) for atom in conjunct):
            return describe_condition(conjunct[0] if len(conjunct) == 1 else cond.All(conjunct))
    return describe_condition(expr)


def _rule_step(knowledge: Knowledge, rule_id: str, kind: str) -> RuleStep:
    c = knowledge.by_id[rule_id]
    spec = c.spec
    if kind == "red flag":
        return RuleStep(
            rule_id,
            kind,
            OPTIONS,
            ("excludes",),
            None,
            describe_condition(c.expr),
            spec.explanation,
            tuple(spec.evidence),
        )
    return RuleStep(
        rule_id,
        kind,
        tuple(spec.options),
        tuple(spec.effects),
        spec.note,
        describe_condition(c.expr),
        spec.explanation or "",
        tuple(spec.evidence),
    )


def _aggregation(
    option: str, flags: tuple[RuleStep, ...], rules: tuple[RuleStep, ...], assessment: Assessment, fallback_id: str
) -> AggregationStep:
    verdict = assessment.options[option].verdict
    if flags:
        effects = tuple((f.id, "excludes") for f in flags)
        return AggregationStep(option, effects, verdict, AGGREGATION_WORDS["urgent"], False)
    effects = tuple((r.id, e) for r in rules if option in r.options for e in r.effects)
    kinds = {e for _, e in effects}
    applied = aggregate(kinds)  # the one aggregation; here only to say which of its lines applied
    if applied == "not_advised":
        applied = "opposes" if "opposes" in kinds else "nothing"
    fallback = fallback_id in {r.rule_id for r in assessment.options[option].reasons}
    return AggregationStep(option, effects, verdict, AGGREGATION_WORDS[applied], fallback)


# ---- keeping the library honest ---------------------------------------------------------


def consistency_problems(cases: list[Case], aid: DecisionAid) -> list[KnowledgeProblem]:
    """Cases whose recorded verdicts differ from the engine's, or whose teaching points cite a rule that
    played no part in the case: after a rule change, these cases' teaching points need re-reading."""
    problems = []
    for case in cases:
        steps = reasoning(aid.explain(case.patient, case.jurisdiction), aid.knowledge)
        for option in OPTIONS:
            engine = steps.assessment.options[option].verdict
            if case.spec.expected[option] != engine:
                problems.append(
                    KnowledgeProblem(
                        case.file, case.id, f"expected {option} {case.spec.expected[option]}, the engine gives {engine}"
                    )
                )
        for point in case.spec.teaching_points:
            for rule_id in point.rules:
                if rule_id not in steps.cited_ids:
                    problems.append(KnowledgeProblem(case.file, case.id, f"cites {rule_id}, which plays no part here"))
    return problems
