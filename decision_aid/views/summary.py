"""The readable text summary of an assessment (the CLI's default output)."""

from __future__ import annotations

import textwrap

from decision_aid.engine.missing import by_test
from decision_aid.knowledge.labels import OPTION_NAMES, VERDICT_WORDS, guidance
from decision_aid.models import Assessment

DISCLAIMER = "A discussion aid that supports, and does not replace, clinical judgement."

_EFFECT_MARKS = {"supports": "+", "cautions": "!", "opposes": "-", "excludes": "x"}


def summary(assessment: Assessment) -> str:
    where = guidance(assessment.jurisdiction)
    lines = [f"decision_aid assessment (knowledge {assessment.knowledge_version}, {where})", DISCLAIMER, ""]
    if assessment.urgent_referral:
        lines.append("URGENT REFERRAL: not an elective discussion.")
        lines += [f"  * {a.message}" for a in assessment.alerts]
        lines.append("")
    for option, result in assessment.options.items():
        shown = "suspended: urgent referral" if assessment.urgent_referral else VERDICT_WORDS[result.verdict]
        lines.append(f"{OPTION_NAMES[option]}: {shown}")
        for reason in result.reasons:
            text = f"{_EFFECT_MARKS[reason.effect]} {reason.effect} [{reason.rule_id}] {reason.explanation}"
            cites = f" ({', '.join(reason.evidence)})" if reason.evidence else ""
            lines += _wrap(text + cites, "    ")
        for note in result.notes:
            lines += _wrap(f"note [{note.rule_id}] {note.text} ({', '.join(note.evidence)})", "    ")
    if assessment.findings:
        lines += ["", "Findings:"]
        for state in ("present", "unknown"):
            ids = [f.id.replace("_", " ") for f in assessment.findings if f.state == state]
            if ids:
                lines += _wrap(f"{state}: {', '.join(ids)}", "  ")
    lines += ["", "Missing information:"]
    if assessment.missing_information:
        for ask in by_test(assessment.missing_information):
            shown = ", ".join(o.replace("_", " ") for o in ask.options)
            names = ", ".join(item.field for item in ask.items)
            lines += _wrap(f"- {f'{ask.test} ({names})' if ask.test else names}: could change {shown}", "  ")
    else:
        lines.append("  none that would change a verdict")
    return "\n".join(lines) + "\n"


def _wrap(text: str, indent: str) -> list[str]:
    return textwrap.wrap(
        text, width=100, initial_indent=indent, subsequent_indent=indent + "  ", break_on_hyphens=False
    )
