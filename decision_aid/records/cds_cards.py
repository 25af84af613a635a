"""Cards from what the record holds: the advice of one `patient-view` call.

In order of precedence:
1. a red flag the record codes as present gives one `critical` card per flag with the
   knowledge's alert (what to do now), and nothing elective beside it;
2. data the service could not obtain give one `warning` card naming them, and nothing elective;
3. a record with no lumbar spine diagnosis gives no card;
4. answers still needed before an assessment is allowed give one `info` card saying how many
   and which (in the form's words), with a link to the app, and nothing elective;
5. otherwise one `info` card summarising the options worth discussing and to discuss with
   caution (the deciding reasons' short labels in `detail`), and one `warning` card per test
   that could change a verdict, with a draft ServiceRequest suggestion where the test is an
   order (rules/cds_hooks.yaml).

Cards are built from the assessment and the knowledge passed in; the words come from rules/.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from decision_aid.engine.assessment import DecisionAid
from decision_aid.engine.missing import by_test
from decision_aid.knowledge import conditions as cond
from decision_aid.knowledge import reading
from decision_aid.knowledge.fields import fields
from decision_aid.knowledge.labels import OPTION_NAMES, VERDICT_WORDS, guidance
from decision_aid.knowledge.loader import Knowledge
from decision_aid.models import Assessment
from decision_aid.records.cds_models import Action, Card, Coding, Link, Source, Suggestion
from decision_aid.views.letter import key_reasons, label, listed

TOPIC_SYSTEM = "urn:decision-aid:knowledge-version"
DISCLAIMER = "A discussion aid that supports, and does not replace, clinical judgement."
SUMMARY_LIMIT = 139


class Record(Protocol):
    """What the cards need of an imported record (decision_aid.records.fhir_import.ImportedRecord)."""

    filled: dict[str, Any]
    provenance: dict[str, Any]  # field -> where its value came from (str() names the resource and code)
    needed: list[str]
    red_flags: list[str]
    has_lumbar_diagnosis: bool

    def complete(self, answers: dict[str, Any]) -> Any: ...


@dataclass(frozen=True)
class CardContext:
    """Where the cards point and whose guidance they follow."""

    knowledge: Knowledge
    jurisdiction: str
    app_url: str
    orderable_tests: tuple[str, ...] = ()
    patient_id: str | None = None  # the subject of a suggested order

    @property
    def source(self) -> Source:
        version = self.knowledge.version
        topic = Coding(
            system=TOPIC_SYSTEM,
            code=version,
            display=f"decision_aid knowledge {version}, {guidance(self.jurisdiction)}",
        )
        return Source(label="decision_aid", url=f"{self.app_url}/knowledge_base", topic=topic)

    def links(self, app: bool = True) -> list[Link]:
        rules = Link(label="The rules and their sources", url=f"{self.app_url}/knowledge_base")
        return [Link(label="Open decision_aid to complete the assessment", url=self.app_url), rules] if app else [rules]


def cards_for(record: Record, aid: DecisionAid, context: CardContext, missing_data: Sequence[str] = ()) -> list[Card]:
    """The cards for one record (see the module docstring for the order of precedence).

    `missing_data`: descriptions of the data the service could not obtain (none: all obtained).
    Must run on the thread that owns durable-rules (it may assess)."""
    flagged = {name: record.filled[name] for name in record.red_flags if name in record.filled}
    urgent = red_flag_cards(flagged, context, record.provenance)
    if urgent:
        return urgent
    if missing_data:
        return [missing_data_card(missing_data, context)]
    if not record.has_lumbar_diagnosis:
        return []
    if record.needed:
        return [needed_card(record.needed, context)]
    factors = record.complete({})
    assessment = aid.assess(factors, context.jurisdiction)
    if assessment.urgent_referral:  # a red flag among the answers the record gave (a motor deficit)
        return red_flag_cards(factors.known_values(), context, record.provenance)
    return [summary_card(assessment, context), *missing_information_cards(assessment, context)]


def red_flag_cards(
    flagged: dict[str, Any], context: CardContext, provenance: dict[str, Any] | None = None
) -> list[Card]:
    """One critical card per red flag the record's coded values raise, with the knowledge's alert
    and, where given, the resource that coded it."""
    knowledge = context.knowledge
    cards = []
    for flag_id in reading.red_flags(knowledge, flagged):
        compiled = knowledge.by_id[flag_id]
        spec = compiled.spec.in_(context.jurisdiction)
        sources = [str(provenance[n]) for n in sorted(cond.field_names(compiled.expr)) if n in (provenance or {})]
        cards.append(_alert_card(spec.alert, spec.label, context, spec.explanation, sources))
    return cards


def _alert_card(alert: str, what: str, context: CardContext, why: str | None = None, coded: Sequence[str] = ()) -> Card:
    detail = f"**{alert}**" + (f"\n\n{why}" if why else "")
    detail += "".join(f"\n\nCoded in the record: {source}." for source in coded)
    detail += "\n\nElective options are not discussed until the urgent assessment is complete."
    return Card(
        summary=_fit(f"Red flag coded in the record: {what}. {alert}"),
        detail=detail,
        indicator="critical",
        source=context.source,
        links=context.links(app=False),
    )


def missing_data_card(missing: Sequence[str], context: CardContext) -> Card:
    return Card(
        summary=_fit(f"decision_aid could not see the record's {listed(list(missing))}: no advice given"),
        detail=(
            "The record system sent no prefetch for these data and no access to its FHIR server, so "
            f"decision_aid cannot tell what applies: {listed(list(missing))}. "
            "Ask for the service's prefetch to be enabled, or complete the assessment in the app."
        ),
        indicator="warning",
        source=context.source,
        links=context.links(),
    )


def needed_card(needed: Sequence[str], context: CardContext) -> Card:
    """How many answers the record cannot give and which, in the form's words; no elective advice."""
    specs = fields()
    words = [specs[name].label if name in specs else name for name in needed]
    count = len(words)
    answers = "answer" if count == 1 else "answers"
    detail = "\n".join(
        [
            f"The record fills what it codes; {count} {answers} must come from the clinician before "
            "decision_aid can assess the options:",
            "",
            *(f"- {word}" for word in words),
            "",
            DISCLAIMER,
        ]
    )
    return Card(
        summary=_fit(f"Lumbar spine decision aid: {count} {answers} needed ({', '.join(words)})"),
        detail=detail,
        indicator="info",
        source=context.source,
        links=context.links(),
    )


def summary_card(assessment: Assessment, context: CardContext) -> Card:
    """Which options are worth discussing and to discuss with caution, and why (markdown)."""
    knowledge = context.knowledge
    by_verdict: dict[str, list[str]] = {}
    for option, result in assessment.options.items():
        by_verdict.setdefault(result.verdict, []).append(option)
    lines = []
    for verdict in ("worth_discussing", "discuss_with_caution"):
        for option in by_verdict.get(verdict, []):
            result = assessment.options[option]
            lines.append(f"**{OPTION_NAMES[option]}: {VERDICT_WORDS[verdict]}**")
            for effect, reasons in key_reasons(result, knowledge):
                shown = "; ".join(label(r, knowledge, assessment.jurisdiction) for r in reasons)
                lines.append(f"- {effect}: {shown}")
            lines.append("")
    for verdict in ("not_advised", "not_applicable"):
        if by_verdict.get(verdict):
            names = listed([OPTION_NAMES[o].lower() for o in by_verdict[verdict]])
            lines.append(f"{VERDICT_WORDS[verdict].capitalize()}: {names}.")
    lines += ["", f"Knowledge {assessment.knowledge_version}, {guidance(assessment.jurisdiction)}. {DISCLAIMER}"]
    worth = [OPTION_NAMES[o].lower() for o in by_verdict.get("worth_discussing", [])]
    caution = [OPTION_NAMES[o].lower() for o in by_verdict.get("discuss_with_caution", [])]
    parts = [f"worth discussing: {', '.join(worth)}"] if worth else []
    parts += [f"with caution: {', '.join(caution)}"] if caution else []
    summary = "Lumbar spine options " + "; ".join(parts) if parts else "Lumbar spine: no option is worth discussing"
    if len(summary) > SUMMARY_LIMIT:
        summary = f"Lumbar spine: {len(worth)} options worth discussing, {len(caution)} with caution"
    return Card(
        summary=summary,
        detail="\n".join(lines).strip(),
        indicator="info",
        source=context.source,
        links=context.links(),
    )


def missing_information_cards(assessment: Assessment, context: CardContext) -> list[Card]:
    """One warning card per test (or field) whose result could change a verdict."""
    specs = fields()
    cards = []
    for ask in by_test(assessment.missing_information):
        names = listed([specs[item.field].label for item in ask.items])
        options = listed([OPTION_NAMES[o].lower() for o in ask.options])
        what = ask.test or names
        suggestions = None
        if ask.test in context.orderable_tests and context.patient_id:
            suggestions = [_order(ask.test, names, context.patient_id)]
        cards.append(
            Card(
                summary=_fit(f"Obtain {what}: it could change the advice on {options}"),
                detail=f"Not known: {names}. Depending on the result the verdict could change for {options}.",
                indicator="warning",
                source=context.source,
                suggestions=suggestions,
                selection_behavior="at-most-one" if suggestions else None,
                links=context.links(),
            )
        )
    return cards


def _order(test: str, names: str, patient_id: str) -> Suggestion:
    """A draft order for the test, for the clinician to accept or ignore (spec: a `create` action)."""
    resource = {
        "resourceType": "ServiceRequest",
        "status": "draft",
        "intent": "proposal",
        "code": {"text": test},
        "subject": {"reference": f"Patient/{patient_id}"},
        "reasonCode": [{"text": f"decision_aid: {names} not known"}],
    }
    action = Action(type="create", description=f"Propose an order for {test}", resource=resource)
    return Suggestion(label=f"Order {test}", actions=[action])


def _fit(text: str) -> str:
    """A summary under 140 characters, cut at a word with an ellipsis when longer."""
    if len(text) <= SUMMARY_LIMIT:
        return text
    return text[: SUMMARY_LIMIT - 1].rsplit(" ", 1)[0].rstrip(" ,;:.(") + "…"
