"""Explore: vary one or two factors and see every option's verdict; compare two scenarios."""

from __future__ import annotations

import html
import json

import streamlit as st

from app_pages import cases, ui
from app_pages.field_inputs import field_input
from app_pages.verdict_chart import chart, frame
from decision_aid.engine import explore
from decision_aid.errors import InputError
from decision_aid.knowledge.fields import fields
from decision_aid.knowledge.labels import OPTION_NAMES, VERDICT_WORDS, field_label
from decision_aid.models import parse_factors

DEFAULT_BASE = "Teaching case: Grade I degenerative slip, stable on films"
DEFAULT_FACTOR = "translation_mm"
POINTS = {1: 41, 2: 17}  # evenly spaced values per factor, before the thresholds are added
CHANGE_WORDS = {"same": "= same", "better": "▲ more favourable", "worse": "▼ less favourable", "different": "≠ changed"}


@st.cache_data(max_entries=64, show_spinner=False)
def _sweep(base_json: str, axes: tuple[tuple[str, tuple], ...], jurisdiction: str) -> explore.Sweep:
    return explore.sweep(json.loads(base_json), dict(axes), aid=ui.aid(), jurisdiction=jurisdiction)


def choose_base() -> dict | None:
    """The patient Explore starts from, said in words; None (and why) when it is not a valid patient.

    The Consultation page's patient is its form as it is now: while that form is incomplete or
    invalid, Explore says so and starts from nobody (never from the last valid patient).
    """
    choices = cases.patients()
    names = list(choices)
    default = cases.CONSULTATION if cases.CONSULTATION in names else DEFAULT_BASE
    index = names.index(default) if default in names else 0
    name = st.selectbox("Start from", names, index=index, help="The factors that stay fixed while others vary.")
    start = choices[name]
    who = _who(name)
    if start.factors is None:
        st.error(
            f"Explore cannot start from {who}: its form is not complete or not valid yet ("
            + "; ".join(ui.md(problem) for problem in start.problems)
            + "). Correct it on the Consultation page, or choose a teaching case to start from.",
            icon=":material/edit_note:",
        )
        return None
    try:
        patient = parse_factors(start.factors)
    except InputError as error:
        st.error(f"Explore cannot start from {who}: " + "; ".join(ui.md(str(p)) for p in error.problems))
        return None
    st.info(
        f"Starting from {who}: {ui.md(explore.summary(patient, ui.aid().knowledge))}.",
        icon=":material/person:",
    )
    with st.expander("The starting patient's factors"):
        values = patient.model_dump()
        shown = [ui.value_text(n, v) for n, v in values.items()]
        st.table({"factor": [field_label(n) for n in values], "value": shown})
    return patient.model_dump()


def _who(name: str) -> str:
    """Which patient a choice of "Start from" is, in words."""
    if name == cases.CONSULTATION:
        return "the patient on the Consultation page"
    title = name.removeprefix("Teaching case: ")
    if name == DEFAULT_BASE:
        return f"the example patient (teaching case “{title}”)"
    return f"the teaching case “{title}”"


def axis_values(name: str, count: int, key: str) -> tuple:
    knowledge = ui.aid().knowledge
    if not explore.is_numeric(name):
        return tuple(explore.sweep_values(name, knowledge))
    spec = fields()[name]
    cast = int if spec.kind == "integer" else float
    low, high = st.slider(
        f"Range of {field_label(name)}",
        min_value=cast(spec.minimum),
        max_value=cast(spec.maximum),
        value=tuple(cast(v) for v in explore.default_range(name, knowledge)),
        step=cast(spec.step),
        key=key,
    )
    return tuple(explore.sweep_values(name, knowledge, low, high, points=count))


def vary(base: dict) -> None:
    names = list(fields())
    left, right = st.columns(2)
    with left:
        first = st.selectbox("Factor to vary", names, index=names.index(DEFAULT_FACTOR), format_func=field_label)
    with right:
        second = st.selectbox(
            "Second factor (optional)", [None, *names], format_func=lambda n: "none" if n is None else field_label(n)
        )
        if second == first:
            st.caption("Choose a second factor different from the first.")
            second = None
    count = POINTS[1 if second is None else 2]
    with left:
        axes = [(first, axis_values(first, count, key=f"range-{first}"))]
    if second is not None:
        with right:
            axes.append((second, axis_values(second, count, key=f"range-{second}")))
    result = _sweep(json.dumps(base, sort_keys=True), tuple(axes), ui.jurisdiction())
    if not result.rows:
        st.warning("No point in this range is a valid patient; widen the range or change the starting patient.")
    else:
        st.altair_chart(chart(result), width="stretch")
    if result.skipped:
        reasons = sorted({f"{field_label(p.field)}: {p.message}" for s in result.skipped for p in s.problems})
        st.info(f"{len(result.skipped)} point(s) not assessed, because they break an input rule: " + "; ".join(reasons))
    if len(result.fields) == 1 and result.rows:
        st.markdown("**In words**")
        st.markdown("\n".join(_runs_in_words(first, result)))
    with st.expander("The same data as a table"):
        df = frame(result)
        st.dataframe(df[[*result.fields, "option name", "verdict in words"]], hide_index=True)


def _runs_in_words(name: str, result: explore.Sweep) -> list[str]:
    lines = []
    for option, stretches in result.runs().items():
        parts = []
        for first, last, verdict in stretches:
            span = ui.value_text(name, first)
            if last != first:
                span += f" to {ui.value_text(name, last)}"
            parts.append(f"{VERDICT_WORDS[verdict]} for {span}")
        lines.append(f"- {OPTION_NAMES[option]}: " + "; ".join(parts))
    return lines


def compare(base: dict) -> None:
    st.caption("Scenario A is the starting patient. Choose the factors that differ in scenario B.")
    changed = st.multiselect("Factors to change in scenario B", list(fields()), format_func=field_label)
    scenario_b = dict(base)
    columns = st.columns(3)
    for i, name in enumerate(changed):
        with columns[i % 3]:
            scenario_b[name] = field_input(name, base.get(name), key=f"b-{name}")
    try:
        result = explore.compare(base, scenario_b, aid=ui.aid(), jurisdiction=ui.jurisdiction())
    except InputError as error:
        for problem in error.problems:
            st.error(f"Scenario B: {field_label(problem.field)}: {problem.message}")
        return
    if not result.differences:
        st.info("The two scenarios are the same: change a factor above.")
    else:
        st.markdown("**Factors that differ**")
        st.markdown(
            "\n".join(
                f"- {field_label(d.field)}: {ui.value_text(d.field, d.a)} → **{ui.value_text(d.field, d.b)}**"
                for d in result.differences
            )
        )
    for label, urgent in (("A", result.urgent_a), ("B", result.urgent_b)):
        if urgent:
            st.error(f"Scenario {label} has a red flag: urgent referral, every elective option is suspended.")
    st.markdown(_comparison_table(result), unsafe_allow_html=True)
    _reasons_that_differ(result)


def compare_jurisdictions(base: dict) -> None:
    """The starting patient under UK guidance and under USA guidance, side by side."""
    uk, us = (ui.jurisdiction_words(j) for j in ("uk", "us"))
    st.caption(f"The same patient assessed under {uk} (A) and under {us} (B); nothing else differs.")
    result = explore.compare_jurisdictions(base, aid=ui.aid())
    if result.urgent_a:
        st.error("This patient has a red flag: urgent referral under either guidance, every elective option suspended.")
    if result.changed:
        names = ", ".join(OPTION_NAMES[o.option].lower() for o in result.changed)
        st.markdown(f"**Verdicts that differ:** {ui.md(names)}.")
    else:
        st.info("Every verdict is the same under both.")
    st.markdown(_comparison_table(result, (uk, us), f"{us} against {uk}"), unsafe_allow_html=True)
    _reasons_that_differ(result, (f"only under {uk}", f"only under {us}"))


def _reasons_that_differ(result: explore.Comparison, sides: tuple[str, str] = ("only in A", "only in B")) -> None:
    explained = [o for o in result.options if o.only_a or o.only_b]
    if explained:
        with st.expander("Reasons that differ", expanded=bool(result.changed)):
            for o in explained:
                st.markdown(f"**{OPTION_NAMES[o.option]}**")
                for side, reasons in zip(sides, (o.only_a, o.only_b), strict=True):
                    for reason in reasons:
                        st.markdown(f"- {side}: *{reason.effect}* — {reason.explanation} (`{reason.rule_id}`)")


def _comparison_table(
    result: explore.Comparison, heads: tuple[str, str] = ("scenario A", "scenario B"), against: str = "B against A"
) -> str:
    rows = []
    for o in result.options:
        highlight = ' style="background:#fffde7;font-weight:600"' if o.change != "same" else ""
        rows.append(
            f"<tr{highlight}><td>{html.escape(OPTION_NAMES[o.option])}</td>"
            f"<td>{ui.verdict_badge(o.verdict_a)}</td><td>{ui.verdict_badge(o.verdict_b)}</td>"
            f"<td>{html.escape(CHANGE_WORDS[o.change])}</td></tr>"
        )
    a, b, against = (html.escape(h) for h in (*heads, against))
    return (
        '<table style="width:100%;border-collapse:collapse"><thead><tr><th align="left">option</th>'
        f'<th align="left">{a}</th><th align="left">{b}</th><th align="left">{against}</th>'
        "</tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
    )


def main() -> None:
    st.title("Explore")
    st.caption(
        "See how each option's verdict changes as factors vary, compare two scenarios side by side, or compare "
        f"the UK and USA guidance. Varying and scenarios follow {ui.jurisdiction_words(ui.jurisdiction())}, this "
        "session's setting."
    )
    base = choose_base()
    if base is None:
        return
    vary_tab, compare_tab, jurisdiction_tab = st.tabs(
        ["Vary one or two factors", "Compare two scenarios", "Compare UK and USA guidance"]
    )
    with vary_tab:
        vary(base)
    with compare_tab:
        compare(base)
    with jurisdiction_tab:
        compare_jurisdictions(base)


ui.show_page(main, "Explore", "Please change the inputs or reload; the details are in the server log.")
