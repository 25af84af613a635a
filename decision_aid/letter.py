"""The clinic-letter summary: verdicts, key reasons and citations in five to eight lines.

Meant to be copied into a clinic letter as it is: a heading, one line per
option (or the urgent referral and what to do), and the knowledge version with
the statement that the tool supports, and does not replace, clinical judgement.
"""

from __future__ import annotations

from decision_aid.assessment import default_aid
from decision_aid.labels import OPTION_NAMES, VERDICT_WORDS
from decision_aid.models import Assessment, OptionAssessment, Reason

HEADING = "Lumbar spine decision aid: options discussed"
CLOSING = "Decision aid, knowledge version {version}; it supports, and does not replace, clinical judgement."
MAX_REASONS = 3  # per option, strongest first

# The effects that decide each verdict, in the order they are worth naming.
_KEY_EFFECTS = {
    "worth_discussing": ("supports",),
    "discuss_with_caution": ("cautions", "supports"),
    "not_advised": ("opposes",),
    "not_applicable": ("excludes",),
}
_EFFECT_WORDS = {"supports": "for", "cautions": "caution", "opposes": "against", "excludes": "excluded"}


def clinic_letter(assessment: Assessment) -> str:
    """Five to eight lines of plain text for a clinic letter."""
    closing = CLOSING.format(version=assessment.knowledge_version)
    if assessment.urgent_referral:
        reasons = next(iter(assessment.options.values())).reasons
        lines = [
            f"{HEADING.split(':')[0]}: URGENT REFERRAL; the elective options are suspended.",
            "Action: " + " ".join(a.message for a in assessment.alerts),
            "Red flags: " + "; ".join(f"{short_name(r)}{_cites(r)}" for r in reasons) + ".",
            "The elective options can be discussed once the urgent assessment is complete.",
            closing,
        ]
        return "\n".join(lines)
    lines = [f"{HEADING} (verdict; key reasons [sources]):"]
    lines += [_option_line(option, result) for option, result in assessment.options.items()]
    lines.append(closing)
    return "\n".join(lines)


def key_reasons(result: OptionAssessment) -> list[tuple[str, list[Reason]]]:
    """The reasons that decide the verdict, by effect: [("caution", [...]), ("for", [...])].

    "Nothing indicates it" is kept only when nothing more specific speaks against.
    """
    fallback = default_aid().knowledge.fallback.spec.id
    out = []
    for effect in _KEY_EFFECTS[result.verdict]:
        reasons = [r for r in result.reasons if r.effect == effect]
        if len(reasons) > 1:
            reasons = [r for r in reasons if r.rule_id != fallback]
        if reasons:
            out.append((_EFFECT_WORDS[effect], reasons))
    return out


def short_name(reason: Reason) -> str:
    """A rule's short name from its id: "fusion.age-80-or-more" -> "age 80 or more"."""
    if reason.rule_id == default_aid().knowledge.fallback.spec.id:
        return "nothing indicates it"
    return reason.rule_id.split(".", 1)[-1].replace("-", " ")


def _option_line(option: str, result: OptionAssessment) -> str:
    parts = []
    for word, reasons in key_reasons(result):
        shown = "; ".join(f"{short_name(r)}{_cites(r)}" for r in reasons[:MAX_REASONS])
        more = f" (+{len(reasons) - MAX_REASONS} more)" if len(reasons) > MAX_REASONS else ""
        parts.append(f"{word}: {shown}{more}")
    return f"- {OPTION_NAMES[option]}: {VERDICT_WORDS[result.verdict]}. " + ". ".join(parts) + "."


def _cites(reason: Reason) -> str:
    return f" [{', '.join(reason.evidence)}]" if reason.evidence else ""
