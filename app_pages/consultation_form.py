"""The factors form of the Consultation page: one widget per contract field, grouped.

Answers live in st.session_state["answers"] (field -> value, None = not known or not yet
answered), which outlives the widgets when the user visits another page; each widget's own
key is seeded from it. What each input starts with is decision_aid.views.form's: "not known" for a
nullable field, empty for a required or explicitly asked one (the red flags, the motor
deficit, weeks of conservative care). Each red-flag question is answered yes or no, or all
at once with "None of these". A choice the contract defaults follows the other answers: the
slip type offers none or isthmic with grade 0, degenerative or isthmic with a slip.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from app_pages import fhir_load, ui
from decision_aid.knowledge.fields import FieldSpec, fields
from decision_aid.knowledge.labels import field_label, input_format, value_text
from decision_aid.views.form import (
    GROUPS,
    NOT_KNOWN,
    QUESTIONS,
    RED_FLAG_WORDS,
    RED_FLAGS,
    choices,
    default_answer,
    help_text,
    unit,
)

ANSWERS = "answers"
NO_RED_FLAGS = "no_red_flags"  # the "None of these" box: an answer (no) to every red-flag question
NONE_OF_THESE = "None of these red flags"
NONE_OF_THESE_HELP = "Tick when each was asked and none is present: it answers every red-flag question above with no."
YES, NO = "yes", "no"
_SMALL_RANGE = 6  # integer fields with this many values or fewer get a drop-down


def widget_key(name: str) -> str:
    return f"factor_{name}"


def answers() -> dict[str, Any]:
    """The current answers (None = not known), starting from the form's defaults."""
    current = st.session_state.setdefault(ANSWERS, {})
    for name, spec in fields().items():
        current.setdefault(name, default_answer(spec))
    return current


def set_answers(values: dict[str, Any]) -> None:
    """Replace every answer (a loaded patient, or a new one) and refresh the widgets."""
    forget()
    st.session_state[ANSWERS] = {name: values.get(name, default_answer(spec)) for name, spec in fields().items()}


def forget() -> None:
    """Forget every answer and every input's state (part of starting another patient)."""
    st.session_state.pop(ANSWERS, None)
    st.session_state.pop(NO_RED_FLAGS, None)
    for name in fields():
        st.session_state.pop(widget_key(name), None)


def commit_widgets() -> bool:
    """Copy the widgets' values into the answers (on every rerun, so nothing typed is lost
    when the user visits another page), and let the choices that follow other answers follow
    them. True when an answer changed."""
    current = answers()
    before = dict(current)
    for name, spec in fields().items():
        key = widget_key(name)
        if key in st.session_state:
            current[name] = _from_widget(spec, st.session_state[key])
    _follow(current)
    return current != before


def _follow(current: dict[str, Any]) -> None:
    """A contract-defaulted choice that the other answers now rule out becomes its default again
    when that is allowed, else empty (to be chosen): the slip type after the grade changes."""
    for name, spec in fields().items():
        if spec.kind != "string" or spec.nullable:
            continue
        allowed = choices(name, current)
        value = current[name]
        if value is None or value not in allowed:
            default = default_answer(spec)
            fitted = default if default in allowed else None
            if fitted != value:
                current[name] = fitted
                st.session_state[widget_key(name)] = _to_widget(spec, fitted)


def _none_of_these() -> None:
    """The "None of these" box answers every red-flag question: no when ticked, unanswered when cleared."""
    value = False if st.session_state.get(NO_RED_FLAGS) else None
    current = answers()
    for name in RED_FLAGS:
        current[name] = value
        st.session_state[widget_key(name)] = _to_widget(fields()[name], value)


def factors_form(problems: dict[str, str], on_submit) -> None:
    """The grouped form; `problems` (field -> message) are shown under their inputs and by the button.

    The form scrolls in its own pane (styled by the page through its key), so the
    verdicts beside it stay in view while the form is filled in.
    """
    current = answers()
    for name, spec in fields().items():
        key = widget_key(name)
        if key not in st.session_state:
            st.session_state[key] = _to_widget(spec, current[name])
    # Not an st.form: after the first Assess every change reruns the page, so the verdicts
    # beside the form always belong to what the form shows (a ticked red flag acts at once).
    with st.container(key="factors_pane"):
        for title, names in GROUPS:
            with st.container(border=True):
                st.markdown(f"**{title}**")
                ui.field_help(title, [(input_label(n), help_text(n)) for n in names])  # one tab stop a group
                _grid([n for n in names if n not in QUESTIONS], problems)
                flags = [n for n in names if n in QUESTIONS]
                if flags:
                    st.markdown(":red[**Red flags**] — ask every patient; each one stops the elective discussion.")
                    unasked = [n for n in flags if problems.get(n) == RED_FLAG_WORDS]
                    everything = len(unasked) == len(flags)  # then one message for the group, not one each
                    _grid(flags, {n: m for n, m in problems.items() if not (everything and n in unasked)})
                    st.session_state[NO_RED_FLAGS] = all(current[n] is False for n in RED_FLAGS)
                    st.checkbox(NONE_OF_THESE, key=NO_RED_FLAGS, on_change=_none_of_these)
                    st.caption(NONE_OF_THESE_HELP)  # read as text, not behind a help icon (one more tab stop)
                    if everything:
                        st.error(
                            "Please answer each red-flag question, or tick “None of these red flags”.",
                            icon=":material/error:",
                        )
        st.button("Assess", type="primary", on_click=on_submit, width="stretch")
        if problems:
            count = len(problems)
            st.error(
                f"{count} answer{'s need' if count > 1 else ' needs'} attention (marked above): "
                + "; ".join(input_label(name) for name in problems if name in fields()),
                icon=":material/edit_note:",
            )


def _grid(names: list[str], problems: dict[str, str]) -> None:
    for start in range(0, len(names), 2):
        columns = st.columns(2)
        for column, name in zip(columns, names[start : start + 2], strict=False):
            with column:
                _input(fields()[name])
                fhir_load.caption(name, answers()[name])  # "from the record: ..." after a FHIR load
                if name in problems:
                    st.error(problems[name], icon=":material/error:")


def input_label(name: str) -> str:
    """The label an input carries on the form (the question, for a red flag)."""
    if name in QUESTIONS:
        return QUESTIONS[name]
    text = field_label(name)
    return text[:1].upper() + text[1:]


def _input(spec: FieldSpec) -> None:
    name, key = spec.name, widget_key(spec.name)
    label = input_label(name)
    if spec.kind == "boolean":
        options = [NOT_KNOWN, YES, NO] if spec.nullable else [YES, NO]
        st.radio(label, options, key=key, horizontal=True)
    elif spec.kind == "string" or _is_small(spec):
        if spec.kind == "string":
            values = list(spec.values if spec.nullable else choices(name, answers()))
        else:
            values = list(range(int(spec.minimum), int(spec.maximum) + 1))
        options = [NOT_KNOWN, *values] if spec.nullable else values
        st.selectbox(
            label,
            options,
            key=key,
            format_func=lambda v: v if v == NOT_KNOWN else value_text(name, v),
            placeholder="choose",
        )
    else:
        integer = spec.kind == "integer"
        cast = int if integer else float
        shown = unit(name)
        # No min/max on the widget: an out-of-range value is then entered and refused by the
        # model with a message naming the allowed range, instead of being silently ignored.
        st.number_input(
            label,
            step=cast(spec.step),
            format=None if integer else input_format(name, st.session_state.get(key)),
            key=key,
            placeholder=NOT_KNOWN if spec.nullable else f"required{f' ({shown})' if shown else ''}",
        )


def _is_small(spec: FieldSpec) -> bool:
    return spec.kind == "integer" and spec.maximum - spec.minimum + 1 <= _SMALL_RANGE


def _to_widget(spec: FieldSpec, value: Any) -> Any:
    if spec.kind == "boolean":
        return NOT_KNOWN if value is None and spec.nullable else None if value is None else (YES if value else NO)
    if value is None and spec.nullable and (spec.kind == "string" or _is_small(spec)):
        return NOT_KNOWN
    return value


def _from_widget(spec: FieldSpec, value: Any) -> Any:
    if value is None or value == NOT_KNOWN:
        return None
    if spec.kind == "boolean":
        return value == YES
    return value
