"""Teaching: read a case, commit to a verdict for each option, then see the engine's reasoning step by step."""

from __future__ import annotations

import html

import streamlit as st

from app_pages import cases, ui
from decision_aid.engine.missing import by_test
from decision_aid.knowledge.labels import OPTION_NAMES, VERDICT_WORDS, field_label
from decision_aid.models import OPTIONS, VERDICTS
from decision_aid.views import teaching

ANSWERS = "teaching-answers"  # session state: case id -> {"triage": urgent|elective, "verdicts": option -> verdict}
STEPS = "teaching-steps"  # session state: case id -> how many reasoning steps are shown


def choose_case() -> teaching.Case:
    library = cases.library()
    topics = sorted({t for c in library for t in c.spec.topics})
    wanted = st.multiselect("Topics", topics, placeholder="all topics")
    shown = {c.id: c for c in library if not wanted or set(wanted) & set(c.spec.topics)} or {c.id: c for c in library}
    chosen = st.selectbox("Case", list(shown), format_func=lambda case_id: shown[case_id].title)
    return shown[chosen]


def show_case(case: teaching.Case, steps: teaching.Reasoning, submitted: bool) -> None:
    st.header(case.title)
    st.write(case.spec.history)
    _case_jurisdiction(case)
    with st.expander("The factors", expanded=not submitted):
        _facts(steps)


def _case_jurisdiction(case: teaching.Case) -> None:
    """Each case is assessed under its own jurisdiction, whatever this session's setting: said every time."""
    words = ui.jurisdiction_words(case.jurisdiction)
    text = f"This case is set under **{words}**: the engine assesses it, and you answer it, under {words}."
    session = ui.jurisdiction()
    if session != case.jurisdiction:
        text += f" (The session's setting, {ui.jurisdiction_words(session)}, does not apply to teaching cases.)"
    st.info(text, icon=":material/gavel:")


def answer_form(case: teaching.Case) -> None:
    """First the triage question (asked in every case, so it gives nothing away), then the verdicts."""
    with st.form(f"answers-{case.id}"):
        st.markdown(f"**1. {teaching.TRIAGE_QUESTION}** (commit before you see the answer)")
        triage = st.radio(
            teaching.TRIAGE_QUESTION,
            [teaching.URGENT, teaching.ELECTIVE],
            index=None,
            horizontal=True,
            format_func=teaching.TRIAGE_WORDS.get,
            key=f"triage-{case.id}",
            label_visibility="collapsed",
        )
        st.markdown("**2. If elective: your verdict for each option**")
        answers = {
            option: st.radio(
                OPTION_NAMES[option],
                VERDICTS,
                index=None,
                horizontal=True,
                format_func=VERDICT_WORDS.get,
                key=f"answer-{case.id}-{option}",
            )
            for option in OPTIONS
        }
        if st.form_submit_button("Submit my answers", type="primary"):
            if triage is None:
                st.warning(f"Answer the first question before submitting: {teaching.TRIAGE_QUESTION.lower()}")
            elif triage == teaching.ELECTIVE and any(a is None for a in answers.values()):
                st.warning("Give a verdict for every option before submitting (or answer urgent referral).")
            else:
                st.session_state[ANSWERS][case.id] = {"triage": triage, "verdicts": answers}
                st.session_state[STEPS][case.id] = 1
                st.rerun()  # hide the form: the answers are committed


def show_result(case: teaching.Case, steps: teaching.Reasoning, given: dict) -> None:
    triage, answers = given["triage"], given["verdicts"]
    assessment = steps.assessment
    result = teaching.score_case(assessment, answers, triage)
    st.metric("Your score", f"{result.right} / {result.total}")
    asked = result.triage
    rows = [
        f"<tr><td>{html.escape(teaching.TRIAGE_QUESTION)}</td><td>{html.escape(teaching.TRIAGE_WORDS[triage])}</td>"
        f"<td><strong>{html.escape(teaching.TRIAGE_WORDS[asked.correct])}</strong></td><td>{_mark(asked.right)}</td></tr>"
    ]
    rows += [
        f"<tr><td>{html.escape(OPTION_NAMES[s.option])}</td>"
        f"<td>{ui.verdict_badge(s.answer) if s.answer else 'no answer'}</td>"
        f"<td>{ui.verdict_badge(s.correct)}</td><td>{_mark(s.right)}</td></tr>"
        for s in result.options
    ]
    head = "".join(f'<th scope="col">{h}</th>' for h in ("question", "your answer", "the engine", "scored"))
    st.markdown(
        f'<table class="da-table"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>',
        unsafe_allow_html=True,
    )
    if assessment.urgent_referral:
        ui.urgent_banner(assessment)
        if triage == teaching.ELECTIVE:
            st.caption("The verdicts you gave are not scored: a red flag suspends every elective option.")
    st.subheader("The reasoning, step by step")
    sections = [
        ("1. Facts sent to the engine", lambda: _facts(steps)),
        ("2. Red flags", lambda: _red_flags(steps)),
        ("3. Findings derived first", lambda: _findings(steps)),
        ("4. Rules that fired", lambda: _rules(steps)),
        ("5. How each verdict was reached", lambda: _aggregation(steps)),
        ("6. What is not known and could change a verdict", lambda: _missing(steps)),
        ("7. Teaching points and sources", lambda: _teaching_points(case, steps)),
    ]
    shown = st.session_state[STEPS].get(case.id, 1)
    for title, render in sections[:shown]:
        with st.expander(title, expanded=True):
            render()
    left, middle, right = st.columns(3)
    if shown < len(sections):
        if left.button("Next step"):
            st.session_state[STEPS][case.id] = shown + 1
            st.rerun()
        if middle.button("Show every step"):
            st.session_state[STEPS][case.id] = len(sections)
            st.rerun()
    if right.button("Try this case again"):
        del st.session_state[ANSWERS][case.id]
        for key in (f"triage-{case.id}", *(f"answer-{case.id}-{option}" for option in OPTIONS)):
            st.session_state.pop(key, None)
        st.rerun()


def _mark(right: bool) -> str:
    return "✔ right" if right else "✖ not this time"


def _facts(steps: teaching.Reasoning) -> None:
    """The known factors in three columns, then the unknown ones (never taken as normal)."""
    columns = st.columns(3)
    per_column = -(-len(steps.facts) // 3)
    for i, column in enumerate(columns):
        lines = [f"- {f.label}: **{f.value}**" for f in steps.facts[i * per_column : (i + 1) * per_column]]
        column.markdown("\n".join(lines))
    if steps.unknown:
        st.caption(
            "Not known, so left out of the facts (never taken as normal): " + ", ".join(f.label for f in steps.unknown)
        )


def _red_flags(steps: teaching.Reasoning) -> None:
    if not steps.red_flags:
        st.write("None: the elective rules apply.")
        return
    for flag in steps.red_flags:
        st.markdown(f"- **{flag.id}**: when {flag.condition}. {flag.explanation} {_cites(flag.evidence)}")
    st.write("A red flag stops the elective discussion: no finding is derived and no option rule runs.")


def _findings(steps: teaching.Reasoning) -> None:
    if not steps.findings:
        st.write("None: a red flag stopped the elective rules.")
        return
    st.table(
        {
            "finding": [f.label for f in steps.findings],
            "state": [f.state for f in steps.findings],
            "because": [f.because for f in steps.findings],
        }
    )


def _rules(steps: teaching.Reasoning) -> None:
    if not steps.rules:
        st.write("None: a red flag stopped the elective rules.")
        return
    for rule in steps.rules:
        concerns = ", ".join(OPTION_NAMES[o] for o in rule.options)
        what = "note" if rule.note else " and ".join(rule.effects)
        text = rule.note or rule.explanation
        st.markdown(f"- `{rule.id}` ({concerns}: *{what}*), when {rule.condition}. {text} {_cites(rule.evidence)}")


def _aggregation(steps: teaching.Reasoning) -> None:
    for step in steps.aggregation:
        effects = ", ".join(f"{effect} (`{rule_id}`)" for rule_id, effect in step.effects) or "no effects"
        extra = " The 'nothing indicates it' reason is added." if step.fallback else ""
        st.markdown(
            f"**{OPTION_NAMES[step.option]}** {ui.verdict_badge(step.verdict)}  \n"
            f"Effects: {effects}.  \nRule applied: {step.applied}{extra}",
            unsafe_allow_html=True,
        )


def _missing(steps: teaching.Reasoning) -> None:
    items = steps.assessment.missing_information
    if not items:
        st.write("Nothing: no unknown value could change a verdict here.")
        return
    for ask in by_test(items):
        options = ", ".join(OPTION_NAMES[o] for o in ask.options)
        labels = "; ".join(field_label(item.field) for item in ask.items)
        st.markdown(f"- {f'{ask.test}: {labels}' if ask.test else labels}: could change {options}.")


def _teaching_points(case: teaching.Case, steps: teaching.Reasoning) -> None:
    for point in case.spec.teaching_points:
        rules = ", ".join(f"`{r}`" for r in point.rules)
        st.markdown(f"- {point.text}" + (f" Rules: {rules}." if rules else "") + f" {_cites(point.evidence)}")
    cited = dict.fromkeys(
        [c for p in case.spec.teaching_points for c in p.evidence]
        + [c for step in (*steps.red_flags, *steps.rules) for c in step.evidence]
    )
    references = ui.aid().knowledge.citations
    st.markdown("**Sources**\n" + "\n".join(f"- `{cid}`: {references[cid].reference}" for cid in cited))


def _cites(evidence: tuple[str, ...] | list[str]) -> str:
    return f"[{', '.join(evidence)}]" if evidence else ""


def main() -> None:
    st.title("Teaching")
    st.caption("Read the case, commit to a verdict for every option, then compare with the engine and its reasoning.")
    st.session_state.setdefault(ANSWERS, {})
    st.session_state.setdefault(STEPS, {})
    case = choose_case()
    aid = ui.aid()
    steps = teaching.reasoning(aid.explain(case.patient, case.jurisdiction), aid.knowledge)
    given = st.session_state[ANSWERS].get(case.id)
    show_case(case, steps, submitted=given is not None)
    if given is None:
        answer_form(case)
    else:
        show_result(case, steps, given)


ui.show_page(main, "Teaching", "Please choose the case again or reload; the details are in the server log.")
