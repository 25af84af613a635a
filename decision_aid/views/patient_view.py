"""The patient view: plain-language texts, the Option Grid and the values questions.

Everything a patient reads beside the verdicts lives in rules/patient_view/ as
reviewed YAML (clinical-reference.md, sections 5 and 6). Loading validates each
file with pydantic and checks every citation id, option, grid row, study and
`when:` condition, failing with the file and item that are wrong. The handout
(decision_aid.views.handout_content) and the app's plain-language tab draw on the same view,
which callers load for the knowledge they use (`load`, or `view_of` to load it once).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from decision_aid.engine.missing import Ask, by_test
from decision_aid.engine.settling import Settler, settlers
from decision_aid.errors import InputError, InputProblem, KnowledgeError, KnowledgeProblem
from decision_aid.knowledge import conditions as cond
from decision_aid.knowledge.fields import fields
from decision_aid.knowledge.files import read_yaml
from decision_aid.knowledge.labels import OPTION_NAMES
from decision_aid.knowledge.loader import Knowledge, check_condition
from decision_aid.knowledge.reading import holds
from decision_aid.models import OPTIONS, Assessment, Effect, Option, PatientFactors, Reason, Verdict

VIEW_DIR = "patient_view"


# ---- file schemas ---------------------------------------------------------------


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Study(_Spec):
    name: str
    population: str
    design: str
    uncertainty: str
    evidence: list[str] = Field(min_length=1)


class Figure(_Spec):
    text: str
    study: str
    when: str | None = None


class Cell(_Spec):
    text: str = ""
    evidence: list[str] = Field(default_factory=list)
    figures: list[Figure] = Field(default_factory=list)

    @model_validator(mode="after")
    def _says_something(self) -> Cell:
        if not self.text and not self.figures:
            raise ValueError("a cell needs a text or at least one figure")
        return self


class Question(_Spec):
    id: str
    label: str
    note: str = ""  # what holds for every operation, printed under the label
    figures: bool = False  # with no figure for a patient, the cell says "no good evidence"


class Column(_Spec):
    summary: str
    cells: dict[str, Cell]


class GridFile(_Spec):
    questions: list[Question] = Field(min_length=1)
    studies: dict[str, Study]
    options: dict[Option, Column]


class ConditionText(_Spec):
    id: str
    name: str
    when: str
    text: str
    evidence: list[str] = Field(default_factory=list)


class ConditionsFile(_Spec):
    conditions: list[ConditionText] = Field(min_length=1)
    general: str


class Scale(_Spec):
    min: int
    max: int
    low: str
    high: str


class ValueQuestion(_Spec):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str
    row: str  # the Option Grid question it sits beside


class ValuesFile(_Spec):
    scale: Scale
    intro: str
    statement: str
    not_rated: str
    rated: str  # {value}, {rating} and {max}
    beside_row: str  # under a grid row's label: {value}, {rating} and {max}
    values: list[ValueQuestion] = Field(min_length=1)


class Headings(_Spec):
    decision: str
    condition: str
    found: str
    values: str
    grid: str
    figures: str
    factors: str
    sources: str
    funding: str
    safety_net: str
    urgent: str


class NextStep(_Spec):
    alerts: list[str] = Field(min_length=1)  # the red flags' alert codes this text is for
    text: str


class Urgent(_Spec):
    """What a patient with an urgent referral reads: what is happening (each red flag's patient
    explanation), what happens next, and what to do if it gets worse; never the staff instruction."""

    box: str  # the urgent box's heading
    happening: str
    next_heading: str
    next: list[NextStep] = Field(min_length=1)  # the first whose alerts include one of the patient's
    worse_heading: str
    worse: str


class SoFar(_Spec):
    """An option whose verdict a missing answer could change: it stands on what we know so far."""

    verdict_words: dict[Verdict, str]
    word: str  # beside "nothing points to it yet", in place of "Against"
    nothing_yet: str
    could_change: str  # {thing}: the first test (or fact) whose result could change the verdict
    could_also_change: str  # {thing}: each other one, a sentence each
    answer: str  # {label}: a fact asked for with no test
    settles: str  # {thing}: the tests (or answers) that would settle a caution resting on something not known
    tests: dict[str, str]  # a test of rules/fields.yaml -> what the patient will have


class SafetyNet(_Spec):
    signs: list[str] = Field(min_length=1)
    action: str
    evidence: list[str] = Field(min_length=1)


class StatementsFile(_Spec):
    title: str
    supports: str
    footer: str
    made: str
    update_policy: str
    decision: str
    headings: Headings
    found_intro: str
    not_shown: str
    shared_reasons: str
    only_shared: str
    grid_intro: str
    screen_grid_intro: str  # the app's grid: figures name their study instead of a source number
    different_studies: str
    no_good_evidence: str
    factors_intro: str
    not_known: str
    funding: str
    verdict_words: dict[Verdict, str]
    effect_words: dict[Effect, str]
    note_word: str
    so_far: SoFar
    urgent: Urgent
    safety_net: SafetyNet
    # words only UK readers know, and what a USA sheet says instead (clinical-reference.md section 10)
    in_usa: dict[str, str] = {}


# ---- what a patient is shown -------------------------------------------------------


@dataclass(frozen=True)
class ShownFigure:
    text: str
    study_id: str
    study: Study


@dataclass(frozen=True)
class ShownCell:
    """One Option Grid cell for this patient: its text, the figures that apply, and
    whether it must say that no good evidence gives a number."""

    text: str
    evidence: tuple[str, ...]
    figures: tuple[ShownFigure, ...]
    no_good_evidence: bool


@dataclass(frozen=True)
class PlainReason:
    """A reason or note in plain words: `kind` is the effect, "note", or "so_far" for "nothing
    points to it yet" where a missing answer could change the verdict (`PatientView.word` names it)."""

    rule_id: str
    kind: str
    text: str
    evidence: tuple[str, ...]


@dataclass(frozen=True)
class OptionView:
    option: str
    name: str
    summary: str
    verdict: str
    verdict_words: str  # "Not advised, on what we know so far" where a missing answer could change it
    reasons: tuple[PlainReason, ...]
    notes: tuple[PlainReason, ...]
    cells: dict[str, ShownCell]
    so_far: str = ""  # "This could change once we have an MRI scan of your lower back."; "" if nothing could


@dataclass(frozen=True)
class Comparison:
    """The options a patient is shown (verdict not `not_applicable`), in contract order."""

    questions: tuple[Question, ...]
    options: tuple[OptionView, ...]
    not_shown: tuple[str, ...]  # names of the options left out


@dataclass(frozen=True)
class GridRow:
    """One Option Grid row as the app shows it: a plain text per shown option, in the
    comparison's order, and the values the patient rates beside this row."""

    question: Question
    cells: tuple[tuple[str, ...], ...]  # per option: its cell's parts (`cell_parts`)
    values: tuple[ValueQuestion, ...]


@dataclass(frozen=True)
class UrgentItem:
    """One red flag of an urgent referral in plain words, for the patient (the staff instruction of
    its alert is for the clinician: the clinic letter and the app's banner)."""

    explanation: str
    evidence: tuple[str, ...]


# ---- the loaded view ---------------------------------------------------------------


@dataclass(frozen=True)
class PatientView:
    grid: GridFile
    conditions: ConditionsFile
    values: ValuesFile
    statements: StatementsFile
    knowledge: Knowledge
    expressions: dict[str, cond.Expr]  # each `when:` text, parsed

    @property
    def factor_labels(self) -> dict[str, str]:
        """How the handout names each input field for the patient (rules/fields.yaml), in contract order."""
        return {name: spec.patient_label for name, spec in fields().items()}

    def comparison(self, assessment: Assessment, factors: PatientFactors) -> Comparison:
        """The Option Grid and plain-language reasons for the options shown to this patient."""
        values, states = _context(assessment, factors)
        settles = {rule_id: self._settles(s) for rule_id, s in settlers(self.knowledge, factors, assessment).items()}
        shown, hidden = [], []
        for option in OPTIONS:
            result = assessment.options[option]
            if result.verdict == "not_applicable":
                hidden.append(OPTION_NAMES[option])
                continue
            column = self.grid.options[option]
            unknowns = by_test(i for i in assessment.missing_information if option in i.options)
            words = self.statements.so_far.verdict_words if unknowns else self.statements.verdict_words
            shown.append(
                OptionView(
                    option=option,
                    name=OPTION_NAMES[option],
                    summary=column.summary,
                    verdict=result.verdict,
                    verdict_words=words[result.verdict],
                    so_far=self._could_change(unknowns),
                    reasons=self._reasons(result.reasons, bool(unknowns), settles),
                    notes=tuple(
                        PlainReason(n.rule_id, "note", self._patient_text(n.rule_id), tuple(n.evidence))
                        for n in result.notes
                    ),
                    cells={q.id: self._cell(q, column.cells[q.id], values, states) for q in self.grid.questions},
                )
            )
        return Comparison(tuple(self.grid.questions), tuple(shown), tuple(hidden))

    def conditions_for(self, assessment: Assessment, factors: PatientFactors) -> list[ConditionText]:
        """The condition descriptions that apply to this patient (none: use `conditions.general`)."""
        values, states = _context(assessment, factors)
        return [c for c in self.conditions.conditions if holds(self.expressions[c.when], values, states)]

    def check_values(self, ratings: dict[str, int] | None) -> dict[str, int]:
        """Validate the patient's value ratings; raise InputError naming each bad one."""
        if not ratings:
            return {}
        known = {v.id for v in self.values.values}
        scale = self.values.scale
        problems = []
        for key, rating in ratings.items():
            if key not in known:
                problems.append(InputProblem(f"values.{key}", f"unknown value (allowed: {', '.join(sorted(known))})"))
            elif isinstance(rating, bool) or not isinstance(rating, int) or not scale.min <= rating <= scale.max:
                problems.append(InputProblem(f"values.{key}", f"a whole number from {scale.min} to {scale.max}"))
        if problems:
            raise InputError(problems)
        return dict(ratings)

    def grid_rows(self, comparison: Comparison) -> tuple[GridRow, ...]:
        """The Option Grid for a screen: each row's cells in plain words, figures with their study."""
        return tuple(
            GridRow(
                question,
                tuple(self.cell_parts(o.cells[question.id]) for o in comparison.options),
                tuple(v for v in self.values.values if v.row == question.id),
            )
            for question in comparison.questions
        )

    def cell_text(self, cell: ShownCell) -> str:
        """A cell in words: its text, each figure followed by its study's name in brackets,
        and "no good evidence" where a figure row has no figure for this patient."""
        return " ".join(self.cell_parts(cell))

    def cell_parts(self, cell: ShownCell) -> tuple[str, ...]:
        """The parts of `cell_text`, each of which a screen may set on a line of its own."""
        parts = [cell.text] if cell.text else []
        parts += [f"{f.text} ({f.study.name})" for f in cell.figures]
        if cell.no_good_evidence:
            parts.append(self.statements.no_good_evidence)
        return tuple(parts)

    def studies_used(self, comparison: Comparison) -> dict[str, Study]:
        """The studies the shown cells quote, in the order they first appear (row by row)."""
        used: dict[str, Study] = {}
        for question in comparison.questions:
            for option in comparison.options:
                for figure in option.cells[question.id].figures:
                    used.setdefault(figure.study_id, figure.study)
        return used

    def urgent(self, assessment: Assessment) -> tuple[UrgentItem, ...]:
        """An urgent referral for the patient: each alert's red flag in plain words (what is happening)."""
        flags = {c.spec.alert_code: c.spec.in_(assessment.jurisdiction) for c in self.knowledge.red_flags}
        return tuple(
            UrgentItem(flags[a.code].patient_explanation, tuple(flags[a.code].evidence)) for a in assessment.alerts
        )

    def local(self, text: str, jurisdiction: str) -> str:
        """A statement in the words of the jurisdiction's readers (no "A&E" on a USA sheet)."""
        if jurisdiction == "us":
            for uk, usa in self.statements.in_usa.items():
                text = text.replace(uk, usa)
        return text

    def urgent_next(self, assessment: Assessment) -> str:
        """What happens next, for the patient: the first text of `urgent.next` meant for one of the alerts."""
        codes = {a.code for a in assessment.alerts}
        return next((step.text for step in self.statements.urgent.next if codes & set(step.alerts)), "")

    def word(self, reason: PlainReason) -> str:
        """The word before a plain reason: "In favour", "Good to know", "Not known yet" ..."""
        s = self.statements
        return {"note": s.note_word, "so_far": s.so_far.word}.get(reason.kind) or s.effect_words[reason.kind]

    def ratings(self, chosen: Mapping[str, int | None] | None) -> dict[str, int] | None:
        """The ratings to print: the rated values only (None = not rated), checked;
        None when nothing is rated. Raises InputError for an unknown value or a bad rating."""
        rated = {key: rating for key, rating in (chosen or {}).items() if rating is not None}
        return self.check_values(rated) or None

    def _reasons(
        self, reasons: list[Reason], so_far: bool = False, settles: Mapping[str, str] | None = None
    ) -> tuple[PlainReason, ...]:
        # A rule with two effects (supports and cautions) is said once, with the first
        # effect in the contract's order (the more cautious one). Where a missing answer could
        # change the verdict (`so_far`), "nothing points to it" is said as not known yet. A caution
        # that rests on something not known says what would tell us more (`settles`, by rule id).
        seen: set[str] = set()
        out = []
        fallback = self.knowledge.fallback.spec.id
        for reason in reasons:
            if reason.rule_id in seen:
                continue
            seen.add(reason.rule_id)
            if so_far and reason.rule_id == fallback:
                out.append(PlainReason(reason.rule_id, "so_far", self.statements.so_far.nothing_yet, ()))
            else:
                settle = (settles or {}).get(reason.rule_id) if reason.effect == "cautions" else None
                text = f"{reason.patient_explanation} {settle}" if settle else reason.patient_explanation
                out.append(PlainReason(reason.rule_id, reason.effect, text, tuple(reason.evidence)))
        return tuple(out)

    def _could_change(self, asks: list[Ask]) -> str:
        """ "This could change once we have an MRI scan of your lower back." ("" for no missing answer),
        and "It could also change once we have ..." for each other test: each test in the patient's
        words, a fact asked with no test by its label on the handout; a short sentence each."""
        so_far = self.statements.so_far
        things = []
        for ask in asks:
            if ask.test:
                things.append(so_far.tests[ask.test])
            else:
                things += [so_far.answer.format(label=fields()[i.field].patient_label) for i in ask.items]
        if not things:
            return ""
        also = [so_far.could_also_change.format(thing=thing) for thing in things[1:]]
        return " ".join([so_far.could_change.format(thing=things[0]), *also])

    def _settles(self, settler: Settler) -> str:
        """ "X-rays taken as you bend forward and back would tell us more about this.": each test that
        would settle a caution in the patient's words, a fact asked with no test by its handout label."""
        so_far = self.statements.so_far
        things = [so_far.tests[test] for test in settler.tests if test]
        things += [
            so_far.answer.format(label=fields()[n].patient_label) for n in settler.fields if not fields()[n].test
        ]
        text = so_far.settles.format(thing=" or ".join(things))
        return text[:1].upper() + text[1:]

    def _patient_text(self, rule_id: str) -> str:
        return self.knowledge.by_id[rule_id].spec.patient_explanation

    def _cell(self, question: Question, cell: Cell, values: dict[str, Any], states: dict[str, str]) -> ShownCell:
        figures = tuple(
            ShownFigure(f.text, f.study, self.grid.studies[f.study])
            for f in cell.figures
            if f.when is None or holds(self.expressions[f.when], values, states)
        )
        return ShownCell(cell.text, tuple(cell.evidence), figures, question.figures and not figures)


def _context(assessment: Assessment, factors: PatientFactors) -> tuple[dict[str, Any], dict[str, str]]:
    return factors.known_values(), {f.id: f.state for f in assessment.findings}


# ---- loading and checking --------------------------------------------------------


def load(knowledge: Knowledge, directory: Path | None = None) -> PatientView:
    """Load and check rules/patient_view/; raise KnowledgeError listing every problem."""
    directory = directory or knowledge.directory / VIEW_DIR
    checker = _Checker(directory, knowledge)
    view = checker.load()
    if checker.problems or view is None:
        raise KnowledgeError(checker.problems)
    return view


_views: dict[int, PatientView] = {}  # id of a knowledge object -> its view (which keeps it alive)
_views_lock = threading.Lock()


def view_of(knowledge: Knowledge) -> PatientView:
    """The patient view beside this knowledge (its patient_view/), loaded once per knowledge object
    (thread-safe). Raises KnowledgeError as `load` does."""
    view = _views.get(id(knowledge))
    if view is None or view.knowledge is not knowledge:
        with _views_lock:
            view = _views.get(id(knowledge))
            if view is None or view.knowledge is not knowledge:
                view = _views[id(knowledge)] = load(knowledge)
    return view


_IN_100 = re.compile(r"\b(?:\d+|one|a few) in 100\b", re.IGNORECASE)


class _Checker:
    def __init__(self, directory: Path, knowledge: Knowledge):
        self.dir = directory
        self.knowledge = knowledge
        self.problems: list[KnowledgeProblem] = []
        self.expressions: dict[str, cond.Expr] = {}

    def problem(self, file: str, item: str, message: str) -> None:
        self.problems.append(KnowledgeProblem(f"{VIEW_DIR}/{file}", item, message))

    def read(self, file: str, model: type[_Spec]) -> Any:
        try:
            data = read_yaml((self.dir / file).read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as error:
            self.problem(file, "", f"cannot read: {error}")
            return None
        try:
            return model.model_validate(data)
        except ValidationError as error:
            for e in error.errors(include_url=False):
                loc = [str(p) for p in e["loc"]]
                item = ".".join(loc[:2])
                detail = ".".join(loc[2:])
                self.problem(file, item, f"{detail}: {e['msg']}" if detail else e["msg"])
            return None

    def load(self) -> PatientView | None:
        grid = self.read("option_grid.yaml", GridFile)
        conditions = self.read("conditions.yaml", ConditionsFile)
        values = self.read("values.yaml", ValuesFile)
        statements = self.read("statements.yaml", StatementsFile)
        if grid:
            self.check_grid(grid)
        if conditions:
            for c in conditions.conditions:
                self.cite("conditions.yaml", c.id, c.evidence)
                self.condition("conditions.yaml", c.id, c.when)
        if values and grid:
            rows = {q.id for q in grid.questions}
            for v in values.values:
                if v.row not in rows:
                    self.problem("values.yaml", v.id, f"unknown grid row '{v.row}' (rows: {', '.join(sorted(rows))})")
            if values.scale.min >= values.scale.max:
                self.problem("values.yaml", "scale", "min must be below max")
        if statements:
            self.cite("statements.yaml", "safety_net", statements.safety_net.evidence)
            self.check_statements(statements)
        if self.problems or None in (grid, conditions, values, statements):
            return None
        return PatientView(grid, conditions, values, statements, self.knowledge, self.expressions)

    def check_grid(self, grid: GridFile) -> None:
        file = "option_grid.yaml"
        rows = [q.id for q in grid.questions]
        if len(set(rows)) != len(rows):
            self.problem(file, "questions", "a question id is listed twice")
        for study_id, study in grid.studies.items():
            self.cite(file, f"studies.{study_id}", study.evidence)
        for option in OPTIONS:
            if option not in grid.options:
                self.problem(file, f"options.{option}", "this option has no column")
        for option, column in grid.options.items():
            for row in sorted(set(rows) - set(column.cells)):
                self.problem(file, f"options.{option}", f"no cell for the question '{row}'")
            for row in sorted(set(column.cells) - set(rows)):
                self.problem(file, f"options.{option}", f"'{row}' is not a question of the grid")
            for row, cell in column.cells.items():
                where = f"options.{option}.{row}"
                self.cite(file, where, cell.evidence)
                for figure in cell.figures:
                    if figure.study not in grid.studies:
                        self.problem(file, where, f"unknown study '{figure.study}' (not under studies:)")
                    if _IN_100.search(figure.text):
                        self.problem(file, where, f"write figures as 'out of 100 people': {figure.text!r}")
                    if figure.when is not None:
                        self.condition(file, where, figure.when)

    def check_statements(self, statements: StatementsFile) -> None:
        """Every red flag has its "what happens next" text, and every test that missing information
        can name has words for the patient."""
        file = "statements.yaml"
        codes = {c.spec.alert_code for c in self.knowledge.red_flags}
        listed = {code for step in statements.urgent.next for code in step.alerts}
        for code in sorted(listed - codes):
            self.problem(file, "urgent.next", f"unknown alert code '{code}' (not in red_flags.yaml)")
        for code in sorted(codes - listed):
            self.problem(file, "urgent.next", f"no text for the red flag alert '{code}'")
        tests = {spec.test for spec in fields().values() if spec.nullable and spec.test}
        for test in sorted(tests - set(statements.so_far.tests)):
            self.problem(file, "so_far.tests", f"no words for the test '{test}' (rules/fields.yaml)")

    def cite(self, file: str, item: str, evidence: list[str]) -> None:
        for cid in evidence:
            if cid not in self.knowledge.citations:
                self.problem(file, item, f"unknown citation id '{cid}' (not in bibliography.yaml)")

    def condition(self, file: str, item: str, text: str) -> None:
        """Parse a `when:` and check its names and values against the vocabulary and findings."""
        expr, problems = check_condition(text, {f.spec.id for f in self.knowledge.findings})
        for message in problems:
            self.problem(file, item, message)
        if expr is not None:
            self.expressions[text] = expr
