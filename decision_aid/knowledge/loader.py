"""Load the knowledge base from rules/ and check it; fail with file and rule id.

Every clinical statement the tool makes comes from these files. Loading
validates each file with pydantic, parses every condition against the input
vocabulary, resolves citations, and checks that each finding's three states
cover every combination of values exactly once.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from decision_aid.errors import KnowledgeError, KnowledgeProblem
from decision_aid.knowledge import conditions as cond
from decision_aid.knowledge import reading
from decision_aid.knowledge.fields import FieldSpec, condition_fields, load_fields, load_settings
from decision_aid.knowledge.files import read_yaml, rules_dir
from decision_aid.models import JURISDICTIONS, Effect, Jurisdiction, Option

# ---- file schemas ---------------------------------------------------------------


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


RULE_ID = r"^[a-z0-9][a-z0-9._-]*$"  # also safe inside compiled durable-rules names
NAME = r"^[a-z][a-z0-9_]*$"  # findings and tags, as written in conditions


class Citation(_Spec):
    id: str = Field(pattern=RULE_ID)
    reference: str


class FindingSpec(_Spec):
    id: str = Field(pattern=NAME)
    label: str
    present: str
    absent: str
    unknown: str | None = None
    explanation: str
    evidence: list[str]
    reviewed: dt.date


class JurisdictionText(_Spec):
    """A rule's or red flag's words in one jurisdiction, where they differ from the default (uk) words."""

    label: str | None = None
    alert: str | None = None
    explanation: str | None = None
    note: str | None = None
    patient_explanation: str | None = None


class _InJurisdiction(_Spec):
    """Words that differ by jurisdiction (`in_jurisdiction: {us: {explanation: ...}}`); the condition,
    effects and evidence are the same everywhere (a rule that applies in one jurisdiction only names it
    in its condition)."""

    in_jurisdiction: dict[Jurisdiction, JurisdictionText] = Field(default_factory=dict)

    def in_(self, jurisdiction: str | None) -> Any:
        """This spec with the words of `jurisdiction` (itself where none differ)."""
        words = self.in_jurisdiction.get(jurisdiction) if jurisdiction else None
        if words is None:
            return self
        changes = {k: v for k, v in words.model_dump().items() if v is not None and k in type(self).model_fields}
        return self.model_copy(update=changes)


class RedFlagSpec(_InJurisdiction):
    id: str = Field(pattern=RULE_ID)
    label: str  # a short clinical phrase for tiles and letters (checked by `check_label`)
    when: str
    alert_code: str
    alert: str
    explanation: str
    patient_explanation: str
    evidence: list[str] = Field(min_length=1)
    reviewed: dt.date

    @model_validator(mode="after")
    def _words(self) -> RedFlagSpec:
        for words in self.in_jurisdiction.values():
            if words.note is not None:
                raise ValueError("in_jurisdiction: a red flag has no note")
        return self


class RuleSpec(_InJurisdiction):
    id: str = Field(pattern=RULE_ID)
    label: str  # a short clinical phrase for tiles and letters (checked by `check_label`)
    options: list[Option] = Field(min_length=1)
    when: str
    effects: list[Effect] = Field(default_factory=list, max_length=2)
    note: str | None = None
    tags: list[Annotated[str, Field(pattern=NAME)]] = Field(default_factory=list)
    explanation: str | None = None
    patient_explanation: str
    evidence: list[str] = Field(min_length=1)
    reviewed: dt.date

    @model_validator(mode="after")
    def _effects_or_note(self) -> RuleSpec:
        if bool(self.effects) == bool(self.note):
            raise ValueError("a rule has either effects or a note, not both and not neither")
        if len(set(self.effects)) != len(self.effects):
            raise ValueError("an effect is listed twice")
        if self.effects and not self.explanation:
            raise ValueError("a rule with effects needs an explanation")
        for words in self.in_jurisdiction.values():
            if words.alert is not None:
                raise ValueError("in_jurisdiction: only a red flag has an alert")
            if words.note is not None and not self.note:
                raise ValueError("in_jurisdiction: a note for a rule with effects (give its explanation)")
            if words.explanation is not None and not self.effects:
                raise ValueError("in_jurisdiction: an explanation for a note (give its note)")
        return self

    @property
    def text(self) -> str:
        """What the clinician reads: the explanation, or the note's text."""
        return self.explanation or self.note or ""


class FallbackSpec(_Spec):
    id: str = Field(pattern=RULE_ID)
    label: str  # a short clinical phrase for tiles and letters (checked by `check_label`)
    explanation: str
    patient_explanation: str
    evidence: list[str] = Field(default_factory=list)
    reviewed: dt.date


# ---- the loaded knowledge ----------------------------------------------------------


@dataclass(frozen=True)
class Compiled:
    """A spec with its parsed condition(s)."""

    spec: Any
    file: str
    expr: cond.Expr  # for a finding: its `present` condition
    states: dict[str, cond.Expr] = field(default_factory=dict)  # finding state -> condition


@dataclass(frozen=True)
class Knowledge:
    version: str
    directory: Path
    citations: dict[str, Citation]
    red_flags: tuple[Compiled, ...]
    findings: tuple[Compiled, ...]  # in dependency order
    rules: tuple[Compiled, ...]
    fallback: Compiled

    @cached_property
    def by_id(self) -> dict[str, Compiled]:
        items = (*self.red_flags, *self.findings, *self.rules, self.fallback)
        return {c.spec.id: c for c in items}

    @cached_property
    def tags(self) -> set[str]:
        return {t for c in self.rules for t in c.spec.tags}

    @cached_property
    def finding_fields(self) -> dict[str, frozenset[str]]:
        """finding -> the input fields it depends on, directly or through other findings."""
        out: dict[str, frozenset[str]] = {}
        for finding in self.findings:  # dependency order: the findings it reads come first
            names: set[str] = set()
            for expr in finding.states.values():
                names |= cond.field_names(expr)
                for other in cond.state_names(expr):
                    names |= out[other]
            out[finding.spec.id] = frozenset(names)
        return out

    @cached_property
    def thresholds(self) -> dict[str, set[Any]]:
        """Every value each field is compared with anywhere in the base."""
        out: dict[str, set[Any]] = {}
        for c in self.all_conditions():
            for name, values in cond.thresholds(c).items():
                out.setdefault(name, set()).update(values)
        return out

    def all_conditions(self) -> Iterable[cond.Expr]:
        for c in (*self.red_flags, *self.rules):
            yield c.expr
        for c in self.findings:
            yield from c.states.values()

    @cached_property
    def reviewed(self) -> dt.date:
        """The oldest review date in the base."""
        return min(c.spec.reviewed for c in self.by_id.values())


def load(directory: Path | None = None) -> Knowledge:
    """Load and check the knowledge base; raise KnowledgeError listing every problem."""
    directory = directory or rules_dir()
    loader = _Loader(directory)
    knowledge = loader.load()
    if loader.problems:
        raise KnowledgeError(loader.problems)
    return knowledge


class _Loader:
    def __init__(self, directory: Path):
        self.dir = directory
        self.problems: list[KnowledgeProblem] = []

    def problem(self, file: str, rule_id: str, message: str) -> None:
        self.problems.append(KnowledgeProblem(file, rule_id, message))

    def read(self, relative: str, key: str) -> list[tuple[str, dict]]:
        path = self.dir / relative
        try:
            data = read_yaml(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as error:
            self.problem(relative, "", f"cannot read: {error}")
            return []
        if not isinstance(data, dict) or not isinstance(data.get(key), list):
            self.problem(relative, "", f"expected a top-level '{key}:' list")
            return []
        return [(relative, item) for item in data[key]]

    def specs(self, items: list[tuple[str, dict]], model: type[_Spec]) -> list[tuple[str, Any]]:
        out = []
        for file, item in items:
            rule_id = str(item.get("id", "?")) if isinstance(item, dict) else "?"
            try:
                out.append((file, model.model_validate(item)))
            except ValidationError as error:
                for e in error.errors(include_url=False):
                    where = ".".join(str(p) for p in e["loc"])
                    self.problem(file, rule_id, f"{where}: {e['msg']}" if where else e["msg"])
        return out

    def load(self) -> Knowledge | None:
        meta_file = self.dir / "knowledge.yaml"
        try:
            meta = read_yaml(meta_file.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as error:
            self.problem("knowledge.yaml", "", f"cannot read: {error}")
            meta = {}
        version = str(meta.get("version", ""))
        if not version:
            self.problem("knowledge.yaml", "", "needs a 'version'")
        for check in (load_fields, load_settings):  # the field and setting declarations agree with the contract
            try:
                check(self.dir)
            except KnowledgeError as error:
                self.problems.extend(error.problems)

        cited = self.specs(self.read("bibliography.yaml", "citations"), Citation)
        self.check_ids(cited)
        citations = {c.id: c for _, c in cited}
        red_flags = self.specs(self.read("red_flags.yaml", "red_flags"), RedFlagSpec)
        findings = self.specs(self.read("findings.yaml", "findings"), FindingSpec)
        option_files = sorted(p.relative_to(self.dir).as_posix() for p in (self.dir / "options").glob("*.yaml"))
        if not option_files:
            self.problem("options/", "", "no option rule files")
        rules = self.specs([i for f in option_files for i in self.read(f, "rules")], RuleSpec)
        fallbacks = self.specs(self.read("fallback.yaml", "fallback"), FallbackSpec)
        if len(fallbacks) != 1:
            self.problem("fallback.yaml", "", "needs exactly one 'nothing indicates it' rule")

        self.check_ids([*red_flags, *findings, *rules, *fallbacks])
        self.check_labels([*red_flags, *rules, *fallbacks])
        for file, spec in [*red_flags, *findings, *rules, *fallbacks]:
            for cid in spec.evidence:
                if cid not in citations:
                    self.problem(file, spec.id, f"unknown citation id '{cid}' (not in bibliography.yaml)")

        finding_ids = {s.id for _, s in findings}
        tags = {t for _, s in rules for t in s.tags}
        for name in finding_ids & tags:
            self.problem("options/", name, "a tag has the same name as a finding")
        for name in (finding_ids | tags) & set(condition_fields()):
            self.problem("findings.yaml", name, "a finding or tag has the same name as an input field or setting")

        compiled_flags = _present(self.compile(f, s, s.when, allow_states=set()) for f, s in red_flags)
        compiled_findings = _present(self.compile_finding(f, s, finding_ids) for f, s in findings)
        compiled_rules = _present(self.compile(f, s, s.when, allow_states=finding_ids | tags) for f, s in rules)
        for c in compiled_rules:
            for atom in cond.atoms(c.expr):
                if isinstance(atom, cond.State) and atom.name in tags and atom.state != "present":
                    self.problem(c.file, c.spec.id, f"tag '{atom.name}' can only be tested with 'is present'")
        ordered = self.order_findings(compiled_findings)
        if self.problems:
            return None
        fallback_file, fallback = fallbacks[0]
        knowledge = Knowledge(
            version=version,
            directory=self.dir,
            citations=citations,
            red_flags=tuple(compiled_flags),
            findings=tuple(ordered),
            rules=tuple(compiled_rules),
            fallback=Compiled(fallback, fallback_file, cond.Always()),
        )
        self.check_coverage(knowledge)
        return knowledge

    def check_ids(self, specs: list[tuple[str, Any]]) -> None:
        seen: dict[str, str] = {}
        for file, spec in specs:
            if spec.id in seen:
                self.problem(file, spec.id, f"duplicate id (also in {seen[spec.id]})")
            seen.setdefault(spec.id, file)

    def check_labels(self, specs: list[tuple[str, Any]]) -> None:
        """Each label reads as words for people; no two rules of one option share a label (in any jurisdiction)."""
        reported: set[tuple[str, str, str]] = set()

        def problem(file: str, rule_id: str, message: str) -> None:
            if (file, rule_id, message) not in reported:
                reported.add((file, rule_id, message))
                self.problem(file, rule_id, message)

        for jurisdiction in JURISDICTIONS:
            seen: dict[tuple[str, str], str] = {}  # (option, label) -> the rule that has it
            for file, spec in specs:
                spec = spec.in_(jurisdiction) if isinstance(spec, _InJurisdiction) else spec
                for message in check_label(spec.label, spec.id):
                    problem(file, spec.id, message)
                for option in getattr(spec, "options", ()):
                    key = (option, " ".join(spec.label.split()).casefold())
                    if key in seen:
                        problem(
                            file,
                            spec.id,
                            f"label {spec.label!r} is also the label of {seen[key]} ({option}): "
                            "the two would read the same on a tile",
                        )
                    seen.setdefault(key, spec.id)

    def compile(self, file: str, spec: Any, text: str, allow_states: set[str]) -> Compiled | None:
        expr = self.parse(file, spec.id, text, allow_states)
        return None if expr is None else Compiled(spec, file, expr)

    def compile_finding(self, file: str, spec: FindingSpec, finding_ids: set[str]) -> Compiled | None:
        states = {}
        for state in ("present", "absent", "unknown"):
            text = getattr(spec, state)
            if text is not None:
                expr = self.parse(file, f"{spec.id}.{state}", text, finding_ids - {spec.id})
                if expr is None:
                    return None
                states[state] = expr
        return Compiled(spec, file, states["present"], states)

    def parse(self, file: str, rule_id: str, text: str, allow_states: set[str]) -> cond.Expr | None:
        expr, problems = check_condition(text, allow_states)
        for message in problems:
            self.problem(file, rule_id, message)
        return expr

    def order_findings(self, findings: list[Compiled]) -> list[Compiled]:
        """Dependency order (a finding after those it reads); reject cycles."""
        by_id = {c.spec.id: c for c in findings}
        ordered: list[Compiled] = []
        visiting: set[str] = set()

        def visit(c: Compiled) -> None:
            if c in ordered:
                return
            if c.spec.id in visiting:
                self.problem(c.file, c.spec.id, "findings depend on each other in a cycle")
                return
            visiting.add(c.spec.id)
            for expr in c.states.values():
                for name in sorted(cond.state_names(expr)):
                    if name in by_id:
                        visit(by_id[name])
            visiting.discard(c.spec.id)
            ordered.append(c)

        for c in findings:
            visit(c)
        return ordered

    def check_coverage(self, knowledge: Knowledge) -> None:
        """Exactly one state of each finding holds at every point of its threshold grid."""
        for finding in knowledge.findings:
            names = sorted(finding_fields(knowledge, finding.spec.id))
            vocabulary = condition_fields()
            grids = [candidate_values(vocabulary[n], knowledge.thresholds.get(n, set()), with_null=True) for n in names]
            for combo in itertools.product(*grids):
                values = {n: v for n, v in zip(names, combo, strict=True) if v is not None}
                states = reading.derive_states(knowledge, values, upto=finding.spec.id)
                holding = [s for s, expr in finding.states.items() if reading.holds(expr, values, states)]
                if len(holding) != 1:
                    shown = ", ".join(f"{n}={combo[i]!r}" for i, n in enumerate(names))
                    self.problem(
                        finding.file,
                        finding.spec.id,
                        f"{len(holding)} states hold ({', '.join(holding) or 'none'}) at {shown}",
                    )
                    break


def check_condition(text: str, allow_states: set[str]) -> tuple[cond.Expr | None, list[str]]:
    """Parse a condition and check it against the input vocabulary and the findings and
    tags it may read; the parsed condition (None if it has problems) and the problems."""
    try:
        expr = cond.parse(text)
    except cond.ConditionSyntaxError as error:
        return None, [str(error)]
    problems: list[str] = []
    vocabulary = condition_fields()
    for atom in cond.atoms(expr):
        if isinstance(atom, cond.State):
            if atom.name not in allow_states:
                problems.append(f"unknown field, finding or tag '{atom.name}'")
            elif atom.state == "known":
                problems.append(f"'{atom.name}' is a finding: use present, absent or unknown")
            continue
        if isinstance(atom, cond.Always):
            continue
        spec = vocabulary.get(atom.field)
        if spec is None:
            problems.append(f"unknown field '{atom.field}'")
            continue
        if isinstance(atom, cond.Known):
            if not spec.nullable:
                problems.append(f"'{atom.field}' is never unknown (it is required or has a default)")
            continue
        for value in atom.values if isinstance(atom, cond.OneOf) else (atom.value,):
            if not _value_fits(spec, value):
                problems.append(f"{value!r} is not an allowed value of '{atom.field}' ({_allowed(spec)})")
        if isinstance(atom, cond.Compare) and atom.op != "==" and spec.kind in ("string", "boolean"):
            problems.append(f"'{atom.op}' cannot compare '{atom.field}' ({spec.kind})")
    return (None if problems else expr), problems


LABEL_MAX = 60  # characters: a tile line or a clause in a letter
_SLUG = re.compile(r"^[a-z0-9]+([.-][a-z0-9]+)+$")


def check_label(label: str, rule_id: str) -> list[str]:
    """What is wrong with a rule's label (empty when nothing is): a label is a short
    clinical phrase for tiles and letters, never a rule id or an identifier."""
    text = label.strip()
    if not text:
        return ["label is empty"]
    problems = []
    if "\n" in text:
        problems.append("label must be one line")
    if len(text) > LABEL_MAX:
        problems.append(f"label is {len(text)} characters long (at most {LABEL_MAX}): {text!r}")
    if "_" in text:
        problems.append(f"label contains an underscore (write words, not identifiers): {text!r}")
    if text.casefold() == rule_id.casefold() or _SLUG.match(text):
        problems.append(f"label looks like a rule id (write a clinical phrase): {text!r}")
    return problems


def _present(items: Iterable[Compiled | None]) -> list[Compiled]:
    """The conditions that parsed (the others were reported as problems)."""
    return [c for c in items if c is not None]


def _value_fits(spec: FieldSpec, value: Any) -> bool:
    if spec.kind == "number" and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    return spec.accepts(value)


def _allowed(spec: FieldSpec) -> str:
    if spec.values:
        return "allowed: " + ", ".join(repr(v) for v in spec.values)
    return f"{spec.kind} from {spec.minimum} to {spec.maximum}"


# ---- helpers shared by the checker and the missing-information search ------------------


def finding_fields(knowledge: Knowledge, finding_id: str) -> frozenset[str]:
    """The input fields a finding depends on, directly or through other findings."""
    return knowledge.finding_fields[finding_id]


def with_dependencies(knowledge: Knowledge, finding_ids: Iterable[str]) -> list[Compiled]:
    """These findings and every finding they read, in dependency order."""
    needed = set(finding_ids)
    for finding in reversed(knowledge.findings):
        if finding.spec.id in needed:
            for expr in finding.states.values():
                needed |= cond.state_names(expr)
    return [f for f in knowledge.findings if f.spec.id in needed]


def candidate_values(spec: FieldSpec, thresholds: set[Any], with_null: bool = False) -> list[Any]:
    """Values just either side of each threshold (every allowed value for strings and booleans).

    Numbers: one value at, just below and just above each threshold, within the
    field's range; these cover every region the comparisons distinguish.
    """
    if spec.kind in ("string", "boolean"):
        out = list(spec.values)
    else:
        step = spec.step
        points = set()
        for t in thresholds:
            for v in (t - step, t, t + step):
                v = round(v, 6)
                if spec.minimum <= v <= spec.maximum:
                    points.add(int(v) if spec.kind == "integer" else float(v))
        out = sorted(points) or [spec.minimum]
    if with_null and spec.nullable:
        out.append(None)
    return out
