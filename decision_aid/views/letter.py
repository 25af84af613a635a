"""The clinic letter: the options discussed, in clinical prose, ready to copy into a letter.

One sentence group per option (its verdict and the reasons that decide it, in the
rules' labels, with the sources as numbers [1], [2]), then the next steps the
assessment implies (the tests that missing information names, one test at a time;
for an urgent referral, what the staff must do now), the sources as a numbered list
of full references, and the knowledge version with the statement that the tool
supports, and does not replace, clinical judgement. An option whose verdict a
missing answer could change says it stands on what is known so far. Given the
patient, a caution that rests on an unknown answer names the test that would settle
it (decision_aid.engine.settling), and the next steps add that test where missing
information does not already name it. It is written from the assessment and the
knowledge that made it, both passed in.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from decision_aid.engine.missing import Ask, by_test
from decision_aid.engine.settling import Settler, settle_sentence, settlers
from decision_aid.knowledge.fields import fields
from decision_aid.knowledge.labels import OPTION_NAMES, VERDICT_WORDS, guidance
from decision_aid.knowledge.loader import Knowledge
from decision_aid.models import Assessment, OptionAssessment, PatientFactors, Reason

HEADING = "Lumbar spine decision aid: options discussed"
URGENT_HEADING = "Lumbar spine decision aid: URGENT REFERRAL; the elective options are suspended."
CLOSING = (
    "Decision aid, knowledge version {version}, under {guidance}; it supports, and does not replace, "
    "clinical judgement."
)
MAX_REASONS = 3  # per effect of an option, strongest first
SO_FAR = "on what is known so far"

# The effects that decide each verdict, in the order they are worth naming.
_KEY_EFFECTS = {
    "worth_discussing": ("supports",),
    "discuss_with_caution": ("cautions", "supports"),
    "not_advised": ("opposes",),
    "not_applicable": ("excludes",),
}
_EFFECT_WORDS = {"supports": "for", "cautions": "caution", "opposes": "against", "excludes": "excluded"}
_LETTER_HEADS = {"supports": "In favour", "cautions": "To weigh", "opposes": "Against", "excludes": "Not applicable"}


def clinic_letter(assessment: Assessment, knowledge: Knowledge, patient: PatientFactors | None = None) -> str:
    """The letter as plain text (`knowledge`: the one that made `assessment`; `patient`: the factors it
    assessed, so that a caution resting on an unknown answer names the test that would settle it)."""
    sources = Sources(knowledge)
    settles = settlers(knowledge, patient, assessment) if patient is not None else {}
    if assessment.urgent_referral:
        body = _urgent(assessment, knowledge, sources)
    else:
        unknowns = unknowns_by_option(assessment)
        body = [HEADING, ""]
        body += [
            _option_line(o, r, knowledge, sources, unknowns.get(o), assessment)
            + _settled(r, knowledge, settles, assessment.jurisdiction)
            for o, r in assessment.options.items()
        ]
        steps = next_steps(assessment) + caution_steps(assessment, knowledge, settles)
        body += ["", "Next steps:", *(f"- {step}" for step in steps)]
    closing = CLOSING.format(version=assessment.knowledge_version, guidance=guidance(assessment.jurisdiction))
    return "\n".join([*body, *sources.listed(), "", closing])


# ---- shared with the Consultation page's tiles and cards -----------------------------------


def key_reasons(result: OptionAssessment, knowledge: Knowledge) -> list[tuple[str, list[Reason]]]:
    """The reasons that decide the verdict, by effect: [("caution", [...]), ("for", [...])].

    "Nothing indicates it" (the knowledge's fallback rule) is kept only when nothing more
    specific speaks against. A rule with two effects is named once, under the first.
    """
    fallback = knowledge.fallback.spec.id
    out, seen = [], set()
    for effect in _KEY_EFFECTS[result.verdict]:
        reasons = [r for r in result.reasons if r.effect == effect and r.rule_id not in seen]
        if len(reasons) > 1:
            reasons = [r for r in reasons if r.rule_id != fallback]
        seen |= {r.rule_id for r in reasons}
        if reasons:
            out.append((_EFFECT_WORDS[effect], reasons))
    return out


def label(reason: Reason, knowledge: Knowledge, jurisdiction: str | None = None) -> str:
    """A reason's short clinical label from its rule (rules/: `label:`), in the jurisdiction's words."""
    spec = knowledge.by_id[reason.rule_id].spec
    return spec.in_(jurisdiction).label if hasattr(spec, "in_") else spec.label


def only_nothing_indicates(result: OptionAssessment, knowledge: Knowledge) -> bool:
    """Whether the verdict rests on "nothing indicates it" alone (no rule speaks for or against)."""
    deciding = [r for _, reasons in key_reasons(result, knowledge) for r in reasons]
    return [r.rule_id for r in deciding] == [knowledge.fallback.spec.id]


def unknowns_by_option(assessment: Assessment) -> dict[str, list[Ask]]:
    """option -> the missing information that could change its verdict, one test at a time
    (most verdicts first): that verdict stands on what is known so far."""
    out: dict[str, list[Ask]] = {}
    for ask in by_test(assessment.missing_information):
        for option in ask.options:
            out.setdefault(option, []).append(Ask(ask.test, tuple(i for i in ask.items if option in i.options)))
    return out


def could_change(asks: Sequence[Ask], most: int | None = None) -> str:
    """ "it could change when the stenosis and disc herniation (MRI of the lumbar spine) are known":
    the form's words for each field, grouped by the test that obtains them. With `most` (for a
    tile), only the fields, at most that many named and the rest counted."""
    labels = [[fields()[item.field].label for item in ask.items] for ask in asks]
    count = sum(len(names) for names in labels)
    verb = "are" if count > 1 else "is"
    if most is not None:
        names = [name for group in labels for name in group]
        shown = names[:most] + ([f"{len(names) - most} more"] if len(names) > most else [])
        return f"it could change when the {listed(shown)} {verb} known"
    parts = [
        f"{listed(names)} ({ask.test})" if ask.test else listed(names) for ask, names in zip(asks, labels, strict=True)
    ]
    if len(parts) > 1:
        return f"it could change when these are known: {'; '.join(parts)}"
    return f"it could change when the {parts[0]} {verb} known"


def listed(names: Sequence[str]) -> str:
    """ "a", "a and b", "a, b and c"."""
    names = list(names)
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def next_steps(assessment: Assessment) -> list[str]:
    """What the assessment implies should happen next, one sentence each: for an urgent referral the
    staff instruction of each red flag; otherwise the tests that missing information names, one test
    at a time, with the verdicts each could change."""
    if assessment.urgent_referral:
        return [alert.message for alert in assessment.alerts] + [
            "The elective options can be discussed once the urgent assessment is complete."
        ]
    steps = []
    for ask in by_test(assessment.missing_information):
        names = listed([fields()[item.field].label for item in ask.items])
        options = listed([OPTION_NAMES[o].lower() for o in ask.options])
        verdicts = "verdict" if len(ask.options) == 1 else "verdicts"
        if ask.test:
            steps.append(
                f"{_capital(ask.test)} would settle the {names}, which could change the {verdicts} on {options}."
            )
        else:
            steps.append(f"Knowing the {names} could change the {verdicts} on {options}.")
    if not steps:
        steps.append("Nothing that is not known could change a verdict: the options can be discussed as they stand.")
    return steps


def caution_steps(assessment: Assessment, knowledge: Knowledge, settles: dict[str, Settler]) -> list[str]:
    """The tests that would settle a caution, where missing information does not already name them
    (they would change no verdict): 'Flexion-extension radiographs would settle the caution "slip without
    complete flexion-extension films" (decompression alone, dynamic stabilisation).'"""
    asked = {item.field for item in assessment.missing_information}
    grouped: dict[str, dict[str, list[str]]] = {}  # the sentence's frame -> caution label -> its options
    for option, result in assessment.options.items():
        for reason in result.reasons:
            settler = settles.get(reason.rule_id)
            if reason.effect == "cautions" and settler is not None and not set(settler.fields) <= asked:
                cautions = grouped.setdefault(settle_sentence(settler, "{what}"), {})
                named = cautions.setdefault(label(reason, knowledge, assessment.jurisdiction), [])
                if option not in named:
                    named.append(option)
    steps = []
    for frame, cautions in grouped.items():
        shown = [
            f"“{name}” ({', '.join(OPTION_NAMES[o].lower() for o in options)})" for name, options in cautions.items()
        ]
        steps.append(frame.format(what=f"the caution{'s' if len(shown) > 1 else ''} {listed(shown)}"))
    return steps


def _settled(result: OptionAssessment, knowledge: Knowledge, settles: dict[str, Settler], jurisdiction: str) -> str:
    """ " Flexion-extension radiographs would settle the slip without complete flexion-extension films."
    for each caution of an option that cautions discuss with caution and rests on an unknown answer (also
    those past the listed few); where another effect decides the verdict, the next steps name them."""
    if result.verdict != "discuss_with_caution":
        return ""
    cautions = {r.rule_id: r for r in result.reasons if r.effect == "cautions" and r.rule_id in settles}
    return "".join(
        f" {settle_sentence(settles[i], 'the ' + label(r, knowledge, jurisdiction))}" for i, r in cautions.items()
    )


class Sources:
    """Numbers citation ids in the order the letter first cites them; lists their full references."""

    def __init__(self, knowledge: Knowledge) -> None:
        self.knowledge = knowledge
        self.ids: list[str] = []

    def mark(self, evidence: Iterable[str]) -> str:
        """ " [1, 2]" for these citations (numbered on first use); "" for none."""
        numbers = []
        for cid in evidence:
            if cid not in self.ids:
                self.ids.append(cid)
            numbers.append(self.ids.index(cid) + 1)
        return f" [{', '.join(str(n) for n in sorted(set(numbers)))}]" if numbers else ""

    def listed(self) -> list[str]:
        """ "Sources:" and "[1] <full reference>" per citation; nothing when none was cited."""
        if not self.ids:
            return []
        return ["", "Sources:", *(f"[{n}] {self.knowledge.citations[c].reference}" for n, c in enumerate(self.ids, 1))]


# ---- the letter's parts ---------------------------------------------------------------------


def _urgent(assessment: Assessment, knowledge: Knowledge, sources: Sources) -> list[str]:
    red_flags = next(iter(assessment.options.values())).reasons
    flags = "; ".join(f"{label(r, knowledge, assessment.jurisdiction)}{sources.mark(r.evidence)}" for r in red_flags)
    return [
        URGENT_HEADING,
        "",
        f"Red flag{'s' if len(red_flags) > 1 else ''}: {flags}.",
        "",
        "Next steps:",
        *(f"- {step}" for step in next_steps(assessment)),
    ]


def _option_line(
    option: str,
    result: OptionAssessment,
    knowledge: Knowledge,
    sources: Sources,
    unknowns: list[Ask] | None,
    assessment: Assessment,
) -> str:
    verdict = VERDICT_WORDS[result.verdict] + (f" {SO_FAR}" if unknowns else "")
    line = f"- {OPTION_NAMES[option]}: {verdict}."
    if unknowns and only_nothing_indicates(result, knowledge):
        return f"{line} No factor known so far indicates it; {could_change(unknowns)}."
    for effect, reasons in _deciding(result, knowledge):
        shown = [
            f"{label(r, knowledge, assessment.jurisdiction)}{sources.mark(r.evidence)}" for r in reasons[:MAX_REASONS]
        ]
        if len(reasons) > MAX_REASONS:
            shown.append(f"{len(reasons) - MAX_REASONS} more")
        if [r.rule_id for r in reasons] == [knowledge.fallback.spec.id]:
            line += f" {_capital(shown[0])}."  # "Nothing indicates it."
        elif effect == "excludes":
            line = f"{line[:-1]} ({listed(shown)})."
        else:
            line += f" {_LETTER_HEADS[effect]}: {listed(shown)}."
    if unknowns:
        line += f" {_capital(could_change(unknowns))}."
    return line


def _deciding(result: OptionAssessment, knowledge: Knowledge) -> list[tuple[str, list[Reason]]]:
    words = {word: effect for effect, word in _EFFECT_WORDS.items()}
    return [(words[word], reasons) for word, reasons in key_reasons(result, knowledge)]


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]
