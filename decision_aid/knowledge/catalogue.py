"""The knowledge base as a readable catalogue: every red flag, finding, rule and citation, searchable.

For the Knowledge-base page and for reviewers: each entry carries its condition
as readable text, its effects, the options it concerns, its citations and its
review date. A finding "concerns" the options whose rules read it (directly or
through other findings), so filtering by option shows the findings too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from decision_aid.knowledge import conditions as cond
from decision_aid.knowledge.labels import OPTION_NAMES, describe_condition
from decision_aid.knowledge.loader import Knowledge
from decision_aid.models import JURISDICTIONS, OPTIONS

KINDS = ("red flag", "finding", "rule", "fallback")
NOTE = "note"  # filter value for rules that carry a note instead of effects


@dataclass(frozen=True)
class Entry:
    kind: str  # one of KINDS
    id: str
    title: str  # the finding's label, the red flag's alert code, else the id
    file: str
    options: tuple[str, ...]
    effects: tuple[str, ...]  # ("note",) for a note
    conditions: tuple[tuple[str, str], ...]  # (heading, readable text): "when", or a finding's three states
    explanation: str
    evidence: tuple[str, ...]
    reviewed: dt.date
    patient_explanation: str = ""
    note: str | None = None
    alert: str | None = None
    tags: tuple[str, ...] = ()
    # where it can apply: every jurisdiction, unless its condition names one
    jurisdictions: tuple[str, ...] = JURISDICTIONS
    # (jurisdiction, what, text): its words where they differ from the default words (`in_jurisdiction`)
    wording: tuple[tuple[str, str, str], ...] = ()
    names_jurisdiction: bool = False  # its condition names the jurisdiction

    @property
    def jurisdiction_specific(self) -> bool:
        """Its condition names the jurisdiction, or its words differ by jurisdiction."""
        return self.names_jurisdiction or bool(self.wording)

    def text(self) -> str:
        """Everything searchable, lower case."""
        parts = [
            self.kind,
            self.id,
            self.title,
            self.file,
            self.explanation,
            self.patient_explanation,
            self.note or "",
            self.alert or "",
            *self.tags,
            *self.evidence,
            *self.effects,
            *(OPTION_NAMES[o] for o in self.options),
            *self.options,
            *(f"{heading} {text}" for heading, text in self.conditions),
            *(text for _, _, text in self.wording),
        ]
        return " ".join(parts).lower()


@dataclass(frozen=True)
class CitationEntry:
    id: str
    reference: str
    cited_by: tuple[str, ...]


def entries(knowledge: Knowledge) -> list[Entry]:
    """Red flags, findings (in dependency order), option rules (by file), then the fallback rule."""
    readers = _finding_readers(knowledge)
    out = []
    for c in knowledge.red_flags:
        s = c.spec
        out.append(
            Entry(
                "red flag", s.id, s.alert_code.replace("_", " "), c.file, OPTIONS, ("excludes",),
                conditions=(("when", describe_condition(c.expr)),), explanation=s.explanation,
                evidence=tuple(s.evidence), reviewed=s.reviewed, patient_explanation=s.patient_explanation,
                alert=s.alert, **_jurisdiction(c.expr, s),
            )
        )  # fmt: skip
    for c in knowledge.findings:
        s = c.spec
        out.append(
            Entry(
                "finding", s.id, s.label, c.file, tuple(o for o in OPTIONS if o in readers[s.id]), (),
                conditions=tuple((state, describe_condition(expr)) for state, expr in c.states.items()),
                explanation=s.explanation, evidence=tuple(s.evidence), reviewed=s.reviewed,
                names_jurisdiction=any(_JURISDICTION in cond.field_names(e) for e in c.states.values()),
            )
        )  # fmt: skip
    for c in knowledge.rules:
        s = c.spec
        out.append(
            Entry(
                "rule", s.id, s.id, c.file, tuple(s.options), tuple(s.effects) or (NOTE,),
                conditions=(("when", describe_condition(c.expr)),), explanation=s.explanation or "",
                evidence=tuple(s.evidence), reviewed=s.reviewed, patient_explanation=s.patient_explanation,
                note=s.note, tags=tuple(s.tags), **_jurisdiction(c.expr, s),
            )
        )  # fmt: skip
    s = knowledge.fallback.spec
    out.append(
        Entry(
            "fallback", s.id, s.id, knowledge.fallback.file, OPTIONS, ("opposes",),
            conditions=(("when", "no rule supports the option and none excludes it"),), explanation=s.explanation,
            evidence=tuple(s.evidence), reviewed=s.reviewed, patient_explanation=s.patient_explanation,
        )
    )  # fmt: skip
    return out


_JURISDICTION = "jurisdiction"


def _jurisdiction(expr: cond.Expr, spec: object) -> dict:
    """Where a rule or red flag can apply, and its words that differ by jurisdiction."""
    words = getattr(spec, "in_jurisdiction", {}) or {}
    wording = tuple(
        (j, what, text) for j, text_of in words.items() for what, text in text_of.model_dump().items() if text
    )
    return {
        "jurisdictions": applies_in(expr),
        "wording": wording,
        "names_jurisdiction": _JURISDICTION in cond.field_names(expr),
    }


def applies_in(expr: cond.Expr) -> tuple[str, ...]:
    """The jurisdictions under which a condition can hold: those for which some branch of it does not
    contradict its comparisons with the jurisdiction (every jurisdiction when it names none)."""
    return tuple(j for j in JURISDICTIONS if any(all(_allows(a, j) for a in branch) for branch in cond.dnf(expr)))


def _allows(atom: cond.Atom, jurisdiction: str) -> bool:
    if isinstance(atom, cond.Compare) and atom.field == _JURISDICTION:
        if atom.op == "==":
            return jurisdiction == atom.value
        if atom.op == "!=":
            return jurisdiction != atom.value
    if isinstance(atom, cond.OneOf) and atom.field == _JURISDICTION:
        return jurisdiction in atom.values
    return True


def citations(knowledge: Knowledge) -> list[CitationEntry]:
    """Every bibliography entry with the ids that cite it, in bibliography order."""
    cited: dict[str, list[str]] = {cid: [] for cid in knowledge.citations}
    for entry in entries(knowledge):
        for cid in entry.evidence:
            cited[cid].append(entry.id)
    return [CitationEntry(c.id, c.reference, tuple(cited[c.id])) for c in knowledge.citations.values()]


def search(
    items: Iterable[Entry],
    text: str = "",
    options: Iterable[str] = (),
    effects: Iterable[str] = (),
    kinds: Iterable[str] = (),
    jurisdiction: str | None = None,
    specific_only: bool = False,
) -> list[Entry]:
    """Entries matching every word of `text`, any of `options`, any of `effects` and any of `kinds`,
    that can apply under `jurisdiction` (when given); with `specific_only`, only the
    jurisdiction-specific ones (a condition naming the jurisdiction, or words that differ by it).

    An empty filter matches everything. A finding has no effect of its own, so
    an effect filter leaves findings out.
    """
    words = text.lower().split()
    options, effects, kinds = set(options), set(effects), set(kinds)
    out = []
    for entry in items:
        if options and not options & set(entry.options):
            continue
        if effects and not effects & set(entry.effects):
            continue
        if kinds and entry.kind not in kinds:
            continue
        if jurisdiction is not None and jurisdiction not in entry.jurisdictions:
            continue
        if specific_only and not entry.jurisdiction_specific:
            continue
        haystack = entry.text()
        if all(w in haystack for w in words):
            out.append(entry)
    return out


def search_citations(
    items: Iterable[CitationEntry], text: str = "", cited_by: set[str] | None = None
) -> list[CitationEntry]:
    """Citations matching every word of `text`; with `cited_by`, only those cited by one of these ids."""
    words = text.lower().split()
    out = []
    for c in items:
        if cited_by is not None and not cited_by & set(c.cited_by):
            continue
        haystack = " ".join((c.id, c.reference, *c.cited_by)).lower()
        if all(w in haystack for w in words):
            out.append(c)
    return out


def _finding_readers(knowledge: Knowledge) -> dict[str, set[str]]:
    """finding id -> the options whose rules read it, directly or through other findings."""
    uses = {c.spec.id: set().union(*(cond.state_names(e) for e in c.states.values())) for c in knowledge.findings}
    out: dict[str, set[str]] = {f: set() for f in uses}

    def mark(name: str, options: Iterable[str]) -> None:
        if name not in out or set(options) <= out[name]:
            return
        out[name] |= set(options)
        for inner in uses[name]:
            mark(inner, options)

    for c in knowledge.rules:
        for name in cond.state_names(c.expr):
            mark(name, c.spec.options)
    return out
