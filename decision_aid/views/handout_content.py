"""What the patient handout says, section by section: the view behind the PDF.

`compose` turns what the page or the command line has already computed (the
patient, their assessment) and the patient view (rules/patient_view/) into
sections of paragraphs, bullets, the Option Grid and references;
decision_aid.views.handout_pdf draws them. The same sections feed the reading-level
check, so what is measured is what is printed. An urgent referral gets only the
urgent message and the safety net. Nothing here assesses a patient or loads
knowledge: it is all passed in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

from decision_aid.knowledge.labels import guidance, show_value
from decision_aid.models import Assessment, PatientFactors
from decision_aid.views.patient_view import Comparison, PatientView, PlainReason, ShownCell

_MONTHS = "January February March April May June July August September October November December".split()


# ---- what a handout is made of ---------------------------------------------------------


@dataclass(frozen=True)
class Para:
    text: str
    style: str = "body"  # a style of decision_aid.views.handout_pdf; "verdict:<verdict>" marks an option


@dataclass(frozen=True)
class Bullets:
    items: tuple[str, ...]
    style: str = "body"
    columns: int = 1  # 2: set side by side without bullet marks (the figure notes)


@dataclass(frozen=True)
class GridTable:
    """The Option Grid: a header row of options, then one row per question."""

    header: tuple[tuple[str, str], ...]  # (text, verdict) per option
    rows: tuple[tuple[str, tuple[str, ...]], ...]  # (row label, cell texts)


@dataclass(frozen=True)
class References:
    items: tuple[tuple[int, str], ...]


@dataclass(frozen=True)
class Box:
    """A framed box with a heading, then parts of a subheading and a paragraph each; styled as
    urgent (red frame, warm tint)."""

    title: str
    parts: tuple[tuple[str, str], ...]  # (subheading, text)


Block = Para | Bullets | GridTable | References | Box


@dataclass(frozen=True)
class Section:
    title: str | None
    blocks: tuple[Block, ...]
    prose: bool = True  # patient-facing sentences (checked for reading level)
    new_page: str | None = None  # "P" or "L": start a page in that orientation


@dataclass(frozen=True)
class Handout:
    footer: str
    sections: tuple[Section, ...]
    created: datetime

    def section_texts(self) -> dict[str, str]:
        """Each prose section's sentences, without source marks (for the reading level)."""
        out = {}
        for number, section in enumerate(self.sections):
            parts: list[str] = []
            for block in section.blocks:
                if isinstance(block, Para):
                    parts.append(block.text)
                elif isinstance(block, Bullets):
                    parts.extend(block.items)
                elif isinstance(block, Box):
                    parts.extend(text for _, text in block.parts)
            if section.prose and parts:
                out[section.title or f"section {number + 1}"] = strip_marks(" ".join(parts))
        return out


_MARKS = re.compile(r"\s*(\[\d+(?:, \d+)*\]|\([a-z]{1,2}\))|\*\*")


def strip_marks(text: str) -> str:
    """Text without source numbers [1, 2], figure letters (a) and bold marks."""
    return _MARKS.sub("", text)


class _Sources:
    """Numbers citation ids in the order the handout first uses them."""

    def __init__(self) -> None:
        self.ids: list[str] = []

    def mark(self, evidence: tuple[str, ...] | list[str]) -> str:
        for cid in evidence:
            if cid not in self.ids:
                self.ids.append(cid)
        return f" [{', '.join(str(self.ids.index(c) + 1) for c in evidence)}]" if evidence else ""


# ---- composing a handout ----------------------------------------------------------------


def compose(
    view: PatientView,
    patient: PatientFactors,
    assessment: Assessment,
    values: dict[str, int] | None = None,
    created: datetime | None = None,
) -> Handout:
    """What the handout says for a patient already assessed (`assessment` is theirs, made with
    the knowledge behind `view`). Raises InputError for invalid `values`.

    `values` rates what matters to the patient (ids and scale in
    rules/patient_view/values.yaml); they are shown, never used for a verdict.
    """
    ratings = view.check_values(values)
    created = created or datetime.now(UTC)
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    made_on = _date(created)
    knowledge = view.knowledge
    s = view.statements
    made = s.made.format(
        date=made_on,
        version=assessment.knowledge_version,
        reviewed=_date(knowledge.reviewed),
        guidance=guidance(assessment.jurisdiction),
    )
    sources = _Sources()
    if assessment.urgent_referral:
        header = Section(None, (Para(s.headings.urgent, "title"), Para(made, "meta")))
        body = [_urgent(view, assessment, sources)]
    else:
        header = Section(None, (Para(s.title, "title"), Para(made, "meta"), Para(s.supports, "box")))
        body = _elective(view, assessment, patient, ratings, sources)
    safety = s.safety_net
    safety_net = Section(
        s.headings.safety_net,
        (
            Bullets(tuple(safety.signs)),
            Para(view.local(safety.action, assessment.jurisdiction) + sources.mark(safety.evidence)),
        ),
    )
    references = tuple((n + 1, knowledge.citations[cid].reference) for n, cid in enumerate(sources.ids))
    closing = [
        Section(s.headings.sources, (References(references),), prose=False),
        safety_net,
    ]
    if not assessment.urgent_referral:
        closing.insert(1, Section(s.headings.funding, (Para(s.funding), Para(s.update_policy))))
    footer = (
        f"decision_aid · {made_on} · knowledge version {assessment.knowledge_version} · "
        f"{guidance(assessment.jurisdiction)} · {s.footer}"
    )
    return Handout(footer, (header, *body, *closing), created)


def _date(day: date) -> str:
    """22 November 2026, whatever the locale."""
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


# ---- sections ------------------------------------------------------------------------------


def _urgent(view: PatientView, assessment: Assessment, sources: _Sources) -> Section:
    """The urgent message, for the patient, in a box styled as urgent: what is happening (each red
    flag in plain words), what happens next, and what to do if it gets worse. Nothing elective, and
    not the staff instruction (that is the clinician's, in the letter and the app)."""
    urgent = view.statements.urgent
    happening = " ".join(item.explanation + sources.mark(item.evidence) for item in view.urgent(assessment))
    parts = (
        (urgent.happening, happening),
        (urgent.next_heading, view.urgent_next(assessment)),
        (urgent.worse_heading, view.local(urgent.worse, assessment.jurisdiction)),
    )
    return Section(None, (Box(urgent.box, parts),))


def _elective(
    view: PatientView, assessment: Assessment, patient: PatientFactors, ratings: dict[str, int], sources: _Sources
) -> list[Section]:
    s, h = view.statements, view.statements.headings
    comparison = view.comparison(assessment, patient)
    conditions = view.conditions_for(assessment, patient)
    about = tuple(Para(f"**{c.name}.** {c.text}{sources.mark(c.evidence)}") for c in conditions) or (
        Para(view.conditions.general),
    )
    grid, footnotes = _grid(view, comparison, ratings, sources)
    return [
        Section(h.decision, (Para(s.decision),)),
        Section(h.condition, about),
        Section(h.found, _found(view, comparison, sources)),
        Section(h.values, _values(view, ratings)),
        Section(h.grid, (Para(s.grid_intro, "small"), grid), new_page="L"),
        Section(h.figures, (Para(s.different_studies, "note"), Bullets(footnotes, "note", columns=2)), new_page="P"),
        Section(h.factors, _factors(view, patient), prose=False),
    ]


def _found(view: PatientView, comparison: Comparison, sources: _Sources) -> tuple[Block, ...]:
    """Each option's verdict and reasons; a reason given for several options is said once, first."""
    s = view.statements

    def item(reason: PlainReason) -> str:
        return f"{view.word(reason)}: {reason.text}{sources.mark(reason.evidence)}"

    def key(reason: PlainReason) -> tuple[str, str, str]:  # one rule may read differently for two options
        return reason.rule_id, reason.kind, reason.text

    options_of: dict[tuple[str, str, str], list[str]] = {}
    for option in comparison.options:
        for reason in option.reasons:
            options_of.setdefault(key(reason), []).append(option.name)
    shared: dict[tuple[str, ...], dict[tuple[str, str, str], PlainReason]] = {}
    for option in comparison.options:
        for reason in option.reasons:
            if len(options_of[key(reason)]) > 1:
                shared.setdefault(tuple(options_of[key(reason)]), {}).setdefault(key(reason), reason)
    blocks: list[Block] = [Para(s.found_intro)]
    for names, reasons in shared.items():
        blocks.append(Para(s.shared_reasons.format(options=_listed(names)), "small"))
        blocks.append(Bullets(tuple(item(r) for r in reasons.values()), "small"))
    for option in comparison.options:
        so_far = f" {option.so_far}" if option.so_far else ""
        blocks.append(
            Para(f"**{option.name}** ({option.summary}): {option.verdict_words}.{so_far}", f"verdict:{option.verdict}")
        )
        own = [item(r) for r in option.reasons if len(options_of[key(r)]) == 1] + [item(n) for n in option.notes]
        blocks.append(Bullets(tuple(own or [s.only_shared]), "small"))
    if comparison.not_shown:
        blocks.append(Para(s.not_shown.format(options=_listed(comparison.not_shown)), "small"))
    return tuple(blocks)


def _listed(names: tuple[str, ...] | list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _values(view: PatientView, ratings: dict[str, int]) -> tuple[Block, ...]:
    v = view.values
    if not ratings:
        listed = "; ".join(q.label for q in v.values)
        return (Para(f"{v.not_rated} {listed}."), Para(v.statement))
    rated = "; ".join(
        v.rated.format(value=f"**{q.label}:**", rating=ratings[q.id], max=v.scale.max)
        for q in v.values
        if q.id in ratings
    )
    return (Para(v.intro), Para(rated + "."), Para(v.statement))


def _grid(
    view: PatientView, comparison: Comparison, ratings: dict[str, int], sources: _Sources
) -> tuple[GridTable, tuple[str, ...]]:
    letters: dict[str, str] = {}
    v = view.values
    rows = []
    for question in comparison.questions:
        lines = [f"**{question.label}**", question.note] + [
            v.beside_row.format(value=q.label, rating=ratings[q.id], max=v.scale.max)
            for q in v.values
            if q.row == question.id and q.id in ratings
        ]
        label = "\n".join(line for line in lines if line)
        cells = tuple(_cell_text(view, o.cells[question.id], letters, sources) for o in comparison.options)
        rows.append((label, cells))
    header = tuple((f"**{o.name}**\n{o.summary}\n{o.verdict_words}", o.verdict) for o in comparison.options)
    studies = view.grid.studies
    footnotes = tuple(
        f"({letter}) **{studies[sid].name}**: {studies[sid].population}. {studies[sid].design} "
        f"{studies[sid].uncertainty}{sources.mark(studies[sid].evidence)}"
        for sid, letter in letters.items()
    )
    return GridTable(header, tuple(rows)), footnotes


def _cell_text(view: PatientView, cell: ShownCell, letters: dict[str, str], sources: _Sources) -> str:
    parts = [cell.text + sources.mark(cell.evidence)] if cell.text else []
    for figure in cell.figures:
        letter = letters.setdefault(figure.study_id, _letter(len(letters)))
        parts.append(f"{figure.text} ({letter})")
    if cell.no_good_evidence:
        parts.append(view.statements.no_good_evidence)
    return " ".join(parts)


def _letter(n: int) -> str:
    return chr(ord("a") + n) if n < 26 else chr(ord("a") + n // 26 - 1) + chr(ord("a") + n % 26)


def _factors(view: PatientView, patient: PatientFactors) -> tuple[Block, ...]:
    s = view.statements
    known = patient.known_values()
    thresholds = view.knowledge.thresholds
    pairs = [
        f"{label}: **{show_value(name, known[name], thresholds)}**"
        for name, label in view.factor_labels.items()
        if name in known
    ]
    unknown = [label for name, label in view.factor_labels.items() if name not in known]
    blocks: list[Block] = [Para(s.factors_intro, "small"), Para(" · ".join(pairs), "fine")]
    if unknown:
        blocks.append(Para(f"{s.not_known}: **{', '.join(unknown)}**", "fine"))
    return tuple(blocks)
