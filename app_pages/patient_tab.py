"""The Consultation page's "For the patient" tab: the patient view in plain words.

The choice to make, what the patient's condition is, what the tool found for each
option, what matters to the patient (rated here, printed in the handout), and the
Option Grid. An urgent referral shows only the urgent message and the safety net.
Everything said comes from decision_aid.views.patient_view (rules/patient_view/), the
view beside the page's knowledge (`ui.view()`); this module only lays it out. The
ratings live in st.session_state and never change a verdict.
"""

from __future__ import annotations

import html
import re

import streamlit as st

from app_pages import ui
from decision_aid.views.consultation import Consultation
from decision_aid.views.patient_view import PatientView

RATINGS = "patient_values"  # value id -> 1..5 (absent: not rated)
_WIDGET = "value_{}"

_STYLE = """<style>
.da-grid-wrap { overflow-x: auto; margin: 0.3rem 0 0.6rem 0; }
.da-grid { border-collapse: separate; border-spacing: 0; width: 100%; font-size: 0.84rem; line-height: 1.35; }
.da-grid th, .da-grid td { border: 1px solid #d5dde4; padding: 0.4rem 0.5rem; vertical-align: top; text-align: left; }
.da-grid td p { margin: 0 0 0.35rem 0; font-size: 0.84rem; }
.da-grid thead th { background: #f3f6f8; min-width: 7rem; }
.da-grid thead th span { white-space: normal !important; display: inline-block; margin-top: 0.3rem; }
.da-grid th.da-row { background: #f3f6f8; min-width: 6.5rem; width: 7rem; font-weight: 600;
  position: sticky; left: 0; z-index: 1; }
.da-grid .da-sub { display: block; font-weight: 400; color: #4a5763; font-size: 0.8rem; margin-top: 0.2rem; }
.da-grid .da-mine { display: block; font-weight: 600; color: #0d47a1; font-size: 0.8rem; margin-top: 0.25rem; }
.da-found p { margin: 0.2rem 0 0.3rem 0; }
.da-found ul { margin: 0 0 0.5rem 0; padding-left: 1.2rem; }
.da-found li { font-size: 0.92rem; line-height: 1.4; margin-bottom: 0.2rem; }
.da-urgent { border: 3px solid #b71c1c; background: #fff3e0; border-radius: 0.5rem;
  padding: 0.6rem 0.9rem; margin: 0.4rem 0 0.8rem 0; }
.da-urgent p { margin: 0 0 0.5rem 0; line-height: 1.45; }
.da-urgent .da-urgent-title { color: #8e0000; font-size: 1.1rem; font-weight: 700; }
.da-urgent .da-urgent-part { font-weight: 700; margin: 0.6rem 0 0.15rem 0; }
.da-so-far-patient { font-style: italic; margin: 0 0 0.3rem 0; }
</style>"""


def show(consultation: Consultation) -> None:
    view = ui.view()
    st.html(_STYLE)
    if consultation.assessment.urgent_referral:
        _urgent(view, consultation)
    else:
        _elective(view, consultation)
    _safety_net(view)


def ratings() -> dict[str, int] | None:
    """The patient's ratings for the handout (None when nothing is rated)."""
    return ui.view().ratings(st.session_state.get(RATINGS))


def clear() -> None:
    """Forget the ratings (a new patient)."""
    st.session_state.pop(RATINGS, None)
    for value in ui.view().values.values:
        st.session_state.pop(_WIDGET.format(value.id), None)


# ---- sections ------------------------------------------------------------------------------


def _urgent(view: PatientView, consultation: Consultation) -> None:
    """For the patient, in plain words and a box styled as urgent: what is happening, what happens
    next, and what to do if it gets worse. The staff instruction is the banner's, above the tabs."""
    s, urgent = view.statements, view.statements.urgent
    assessment = consultation.assessment
    st.markdown(f"### {_md(s.headings.urgent)}")
    happening = " ".join(item.explanation for item in view.urgent(assessment))
    parts = ((urgent.happening, happening), (urgent.next_heading, view.urgent_next(assessment)))
    parts += ((urgent.worse_heading, view.local(urgent.worse, assessment.jurisdiction)),)
    body = "".join(f"<p class='da-urgent-part'>{_h(heading)}</p><p>{_h(text)}</p>" for heading, text in parts)
    st.markdown(
        f"<div class='da-urgent'><p class='da-urgent-title'>{_h(urgent.box)}</p>{body}</div>", unsafe_allow_html=True
    )


def _elective(view: PatientView, consultation: Consultation) -> None:
    s, h = view.statements, view.statements.headings
    assessment, patient = consultation.assessment, consultation.patient
    comparison = view.comparison(assessment, patient)

    st.info(s.supports, icon=":material/forum:")
    st.markdown(f"### {_md(h.decision)}\n{_md(s.decision)}")

    conditions = view.conditions_for(assessment, patient)
    about = "\n\n".join(f"**{_md(c.name)}.** {_md(c.text)}" for c in conditions) or _md(view.conditions.general)
    st.markdown(f"### {_md(h.condition)}\n{about}")

    st.markdown(f"### {_md(h.found)}\n{_md(s.found_intro)}")
    for option in comparison.options:
        items = [
            f"<li><strong>{_h(view.word(r))}:</strong> {_h(r.text)}</li>" for r in (*option.reasons, *option.notes)
        ]
        badge = ui.verdict_badge(option.verdict, option.verdict_words)
        so_far = f"<p class='da-so-far-patient'>{_h(option.so_far)}</p>" if option.so_far else ""
        with st.container(border=True):
            st.markdown(
                f"<div class='da-found'><p><strong>{_h(option.name)}</strong> "
                f"<span class='da-cite'>({_h(option.summary)})</span></p><p>{badge}</p>{so_far}"
                f"<ul>{''.join(items)}</ul></div>",
                unsafe_allow_html=True,
            )
    if comparison.not_shown:
        st.caption(s.not_shown.format(options=", ".join(comparison.not_shown)))

    _values(view)

    st.markdown(f"### {_md(h.grid)}\n{_md(s.screen_grid_intro)}")
    st.markdown(_grid_html(view, comparison), unsafe_allow_html=True)
    st.caption(s.different_studies)
    with st.expander(h.figures):
        st.markdown(
            "\n".join(
                f"- **{_md(study.name)}**: {_md(study.population)}. {_md(study.design)} {_md(study.uncertainty)}"
                for study in view.studies_used(comparison).values()
            )
        )


def _values(view: PatientView) -> None:
    v, s = view.values, view.statements
    st.markdown(f"### {_md(s.headings.values)}\n{_md(v.intro)}")
    # the scale said once for every question (not a help icon, and a tab stop, on each)
    st.caption(f"{_md(v.statement)} {v.scale.min} = {_md(v.scale.low)}; {v.scale.max} = {_md(v.scale.high)}.")
    stored = st.session_state.setdefault(RATINGS, {})
    scale = list(range(v.scale.min, v.scale.max + 1))
    for value in v.values:
        key = _WIDGET.format(value.id)
        if key not in st.session_state:  # seeded from the ratings, which outlive the widget
            st.session_state[key] = stored.get(value.id)
        st.segmented_control(
            value.label,
            scale,
            key=key,
            on_change=_rated,
            args=(value.id,),
        )


def _rated(value_id: str) -> None:
    rating = st.session_state.get(_WIDGET.format(value_id))
    stored = st.session_state.setdefault(RATINGS, {})
    if rating is None:
        stored.pop(value_id, None)
    else:
        stored[value_id] = rating


def _grid_html(view: PatientView, comparison) -> str:
    v = view.values
    rated = st.session_state.get(RATINGS) or {}
    head = "".join(
        f"<th>{_h(o.name)}<span class='da-sub'>{_h(o.summary)}</span>"
        f"{ui.verdict_badge(o.verdict, o.verdict_words)}</th>"
        for o in comparison.options
    )
    rows = []
    for row in view.grid_rows(comparison):
        label = _h(row.question.label)
        if row.question.note:
            label += f"<span class='da-sub'>{_h(row.question.note)}</span>"
        for value in row.values:
            if value.id in rated:
                mine = v.beside_row.format(value=value.label, rating=rated[value.id], max=v.scale.max)
                label += f"<span class='da-mine'>{_h(mine)}</span>"
        cells = "".join("<td>" + "".join(f"<p>{_h(part)}</p>" for part in parts) + "</td>" for parts in row.cells)
        rows.append(f"<tr><th class='da-row' scope='row'>{label}</th>{cells}</tr>")
    # a region that may scroll sideways is a tab stop, so a keyboard can scroll it (axe: scrollable-region-focusable)
    region = f"tabindex='0' role='region' aria-label='{html.escape(view.statements.headings.grid)}'"
    return (
        f"<div class='da-grid-wrap' {region}>"
        "<table class='da-grid'><thead><tr>"
        "<th class='da-row' scope='col'><span class='da-sr-only'>Question</span></th>"
        f"{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    )


def _safety_net(view: PatientView) -> None:
    net = view.statements.safety_net
    signs = "\n".join(f"- {_md(sign)}" for sign in net.signs)
    st.error(
        f"**{_md(view.statements.headings.safety_net)}**\n\n{signs}\n\n{_md(net.action)}", icon=":material/emergency:"
    )


def _md(text: str) -> str:
    """Plain text made safe for Markdown (no accidental emphasis, maths or links)."""
    return re.sub(r"([\\`*_{}\[\]<>$~|#])", r"\\\1", text)


def _h(text: str) -> str:
    """Plain text inside HTML."""
    return html.escape(text, quote=False)
