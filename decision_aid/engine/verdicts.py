"""Effects to verdicts: the one aggregation, the same for every option.

Any `excludes` gives not_applicable; else any `opposes` gives not_advised; else
`supports` with any `cautions` gives discuss_with_caution; else `supports` gives
worth_discussing; with no `supports` the option is not_advised, and the
"nothing indicates it" rule from rules/fallback.yaml says why. Notes never
enter the aggregation; red flags short-circuit before it.
"""

from __future__ import annotations

from collections.abc import Iterable

from decision_aid.engine.durable import PassResult
from decision_aid.knowledge.loader import Compiled, Knowledge
from decision_aid.models import EFFECTS, OPTIONS, Note, OptionAssessment, Reason

# Reasons are listed strongest effect first: excludes, opposes, cautions, supports.
_EFFECT_ORDER = {e: i for i, e in enumerate(reversed(EFFECTS))}
# Most to least favourable; not_advised and not_applicable rank equal.
VERDICT_RANK = {"worth_discussing": 0, "discuss_with_caution": 1, "not_advised": 2, "not_applicable": 2}


def aggregate(effects: Iterable[str]) -> str:
    """The verdict that a set of effects gives."""
    effects = set(effects)
    if "excludes" in effects:
        return "not_applicable"
    if "opposes" in effects or "supports" not in effects:
        return "not_advised"
    if "cautions" in effects:
        return "discuss_with_caution"
    return "worth_discussing"


def fired_for(knowledge: Knowledge, result: PassResult) -> dict[str, list[Compiled]]:
    """option -> the rules that fired for it (red flags for every option when urgent)."""
    if result.urgent:
        flags = [knowledge.by_id[f] for f in result.red_flags]
        return {o: flags for o in OPTIONS}
    fired = [knowledge.by_id[rule_id] for rule_id in result.fired]
    return {o: [c for c in fired if o in c.spec.options] for o in OPTIONS}


def verdicts_only(knowledge: Knowledge, result: PassResult) -> dict[str, str]:
    """option -> verdict, without building the explained result (for what-if searches)."""
    if result.urgent:
        return dict.fromkeys(OPTIONS, "not_applicable")
    return {o: aggregate(e for c in rules for e in c.spec.effects) for o, rules in fired_for(knowledge, result).items()}


def decide(knowledge: Knowledge, result: PassResult, jurisdiction: str | None = None) -> dict[str, OptionAssessment]:
    """Every option's verdict, reasons and notes from one pass, in the words of `jurisdiction`
    (a rule or red flag may word itself differently there; None: the default words)."""
    if result.urgent:
        flags = [knowledge.by_id[f] for f in result.red_flags]
        reasons = sorted((_reason(c, "excludes", jurisdiction) for c in flags), key=lambda r: r.rule_id)
        return {o: OptionAssessment(verdict="not_applicable", reasons=reasons, notes=[]) for o in OPTIONS}
    return {o: _decide_option(knowledge, o, rules, jurisdiction) for o, rules in fired_for(knowledge, result).items()}


def _decide_option(
    knowledge: Knowledge, option: str, concerning: list[Compiled], jurisdiction: str | None
) -> OptionAssessment:
    reasons = [_reason(c, effect, jurisdiction) for c in concerning for effect in c.spec.effects]
    verdict = aggregate(r.effect for r in reasons)
    if verdict == "not_applicable":
        reasons = [r for r in reasons if r.effect == "excludes"]
    elif not any(r.effect == "supports" for r in reasons):
        reasons.append(_reason(knowledge.fallback, "opposes", jurisdiction))
    worded = [c.spec.in_(jurisdiction) for c in concerning if c.spec.note]
    notes = [Note(rule_id=spec.id, text=spec.note, evidence=spec.evidence) for spec in worded]
    return OptionAssessment(
        verdict=verdict,
        reasons=sorted(reasons, key=lambda r: (_EFFECT_ORDER[r.effect], r.rule_id)),
        notes=[] if verdict == "not_applicable" else sorted(notes, key=lambda n: n.rule_id),
    )


def _reason(c: Compiled, effect: str, jurisdiction: str | None) -> Reason:
    spec = c.spec.in_(jurisdiction) if hasattr(c.spec, "in_") else c.spec  # the fallback has one wording
    return Reason(
        rule_id=spec.id,
        effect=effect,
        explanation=spec.explanation,
        patient_explanation=spec.patient_explanation,
        evidence=list(spec.evidence),
    )
