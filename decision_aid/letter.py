"""The clinic-letter summary: verdicts, key reasons and citations in five to eight lines.

Meant to be copied into a clinic letter as it is: a heading, one line per
option (or the urgent referral and what to do), and the knowledge version with
the statement that the tool supports, and does not replace, clinical judgement.
It is written from the assessment and the knowledge that made it, both passed in.
"""

from __future__ import annotations

from decision_aid.knowledge import Knowledge
from decision_aid.labels import OPTION_NAMES, VERDICT_WORDS
from decision_aid.models import Assessment, OptionAssessment, Reason

HEADING = "Lumbar spine decision aid: options discussed"
CLOSING = "Decision aid, knowledge version {version}; it supports, and does not replace, clinical judgement."
MAX_REASONS = 3  # per option, strongest first
FALLBACK_NAME = "nothing indicates it"

# The effects that decide each verdict, in the order they are worth naming.
_KEY_EFFECTS = {
    "worth_discussing": ("supports",),
    "discuss_with_caution": ("cautions", "supports"),
    "not_advised": ("opposes",),
    "not_applicable": ("excludes",),
}
_EFFECT_WORDS = {"supports": "for", "cautions": "caution", "opposes": "against", "excludes": "excluded"}


def clinic_letter(assessment: Assessment, knowledge: Knowledge) -> str:
    """Five to eight lines of plain text for a clinic letter (`knowledge`: the one that made `assessment`)."""
    closing = CLOSING.format(version=assessment.knowledge_version)
    if assessment.urgent_referral:
        reasons = next(iter(assessment.options.values())).reasons
        lines = [
            f"{HEADING.split(':')[0]}: URGENT REFERRAL; the elective options are suspended.",
            "Action: " + " ".join(a.message for a in assessment.alerts),
            "Red flags: " + "; ".join(f"{short_name(r, knowledge)}{_cites(r)}" for r in reasons) + ".",
            "The elective options can be discussed once the urgent assessment is complete.",
            closing,
        ]
        return "\n".join(lines)
    lines = [f"{HEADING} (verdict; key reasons [sources]):"]
    lines += [_option_line(option, result, knowledge) for option, result in assessment.options.items()]
    lines.append(closing)
    return "\n".join(lines)


def key_reasons(result: OptionAssessment, knowledge: Knowledge) -> list[tuple[str, list[Reason]]]:
    """The reasons that decide the verdict, by effect: [("caution", [...]), ("for", [...])].

    "Nothing indicates it" (the knowledge's fallback rule) is kept only when nothing more
    specific speaks against.
    """
    fallback = knowledge.fallback.spec.id
    out = []
    for effect in _KEY_EFFECTS[result.verdict]:
        reasons = [r for r in result.reasons if r.effect == effect]
        if len(reasons) > 1:
            reasons = [r for r in reasons if r.rule_id != fallback]
        if reasons:
            out.append((_EFFECT_WORDS[effect], reasons))
    return out


def short_name(reason: Reason, knowledge: Knowledge) -> str:
    """A reason's short name: the words of its rule's id after the option it concerns
    ("fusion.age-80-or-more" -> "age 80 or more", the ids' convention in rules/), and
    "nothing indicates it" for the knowledge's fallback rule."""
    if reason.rule_id == knowledge.fallback.spec.id:
        return FALLBACK_NAME
    option, dot, words = reason.rule_id.partition(".")
    return (words if dot else option).replace("-", " ")


def _option_line(option: str, result: OptionAssessment, knowledge: Knowledge) -> str:
    parts = []
    for word, reasons in key_reasons(result, knowledge):
        shown = "; ".join(f"{short_name(r, knowledge)}{_cites(r)}" for r in reasons[:MAX_REASONS])
        more = f" (+{len(reasons) - MAX_REASONS} more)" if len(reasons) > MAX_REASONS else ""
        parts.append(f"{word}: {shown}{more}")
    return f"- {OPTION_NAMES[option]}: {VERDICT_WORDS[result.verdict]}. " + ". ".join(parts) + "."


def _cites(reason: Reason) -> str:
    return f" [{', '.join(reason.evidence)}]" if reason.evidence else ""
