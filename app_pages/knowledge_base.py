"""Knowledge base: every red flag, finding, rule and citation, readable, searchable and filterable."""

from __future__ import annotations

import html

import streamlit as st

from app_pages import ui
from app_pages.knowledge_changes import show_changes
from decision_aid.knowledge import catalogue
from decision_aid.knowledge.labels import OPTION_NAMES
from decision_aid.models import EFFECTS, JURISDICTIONS, OPTIONS

EFFECT_STYLE = {  # colour, and always the effect in words
    "supports": "#1b5e20",
    "cautions": "#8a4b00",
    "opposes": "#b71c1c",
    "excludes": "#424242",
    catalogue.NOTE: "#0d47a1",
}


@st.cache_resource
def _catalogue() -> tuple[list[catalogue.Entry], list[catalogue.CitationEntry]]:
    knowledge = ui.aid().knowledge
    return catalogue.entries(knowledge), catalogue.citations(knowledge)


def _effect_badge(effect: str) -> str:
    colour = EFFECT_STYLE[effect]
    return (
        f'<span style="color:{colour};border:1px solid {colour};border-radius:0.4rem;'
        f'padding:0 0.4rem;font-size:0.9em">{html.escape(effect)}</span>'
    )


ANY_JURISDICTION = "any"
WHAT_WORDS = {"label": "Label", "alert": "What to do", "explanation": "For the clinician", "note": "Note"}
WHAT_WORDS["patient_explanation"] = "For the patient"


def jurisdiction_mark(entry: catalogue.Entry) -> str:
    """ "USA only", "UK only", "words differ in the USA", or "" for an entry the same everywhere."""
    if len(entry.jurisdictions) < len(JURISDICTIONS):
        return " and ".join(ui.jurisdiction_words(j).removesuffix(" guidance") for j in entry.jurisdictions) + " only"
    if entry.wording:
        where = sorted({j for j, _, _ in entry.wording})
        return "words differ in the " + " and ".join(ui.jurisdiction_words(j).removesuffix(" guidance") for j in where)
    if entry.names_jurisdiction:
        return "condition names the jurisdiction"
    return ""


def show_entry(entry: catalogue.Entry, references: dict[str, str]) -> None:
    label = f"{entry.kind}: {entry.title}" + (f" ({entry.id})" if entry.title != entry.id else "")
    mark = jurisdiction_mark(entry)
    if mark:
        label = f"⚖ {mark} · {label}"
    if entry.kind != "finding":
        label += f" · {', '.join(entry.effects)} · when {entry.conditions[0][1]}"
    with st.expander(label):
        if mark:
            where = ", ".join(ui.jurisdiction_words(j) for j in entry.jurisdictions)
            st.markdown(f"**Jurisdiction:** {ui.md(mark)} (applies under {where}).")
        if entry.effects:
            st.markdown(" ".join(_effect_badge(e) for e in entry.effects), unsafe_allow_html=True)
        if entry.options:
            st.markdown("**Options:** " + ", ".join(OPTION_NAMES[o] for o in entry.options))
        for heading, text in entry.conditions:
            st.markdown(f"**{heading.capitalize()}:** {text}")
        if entry.alert:
            st.markdown(f"**What to do:** {entry.alert}")
        if entry.note:
            st.markdown(f"**Note:** {entry.note}")
        if entry.explanation:
            st.markdown(f"**For the clinician:** {entry.explanation}")
        if entry.patient_explanation:
            st.markdown(f"**For the patient:** {entry.patient_explanation}")
        if entry.tags:
            st.markdown("**Sets tags:** " + ", ".join(f"`{t}`" for t in entry.tags))
        for j, what, text in entry.wording:
            words = ui.jurisdiction_words(j).removesuffix(" guidance")
            st.markdown(f"**{WHAT_WORDS.get(what, what)}, in the {words}:** {text}")
        if entry.evidence:
            st.markdown("**Evidence:**\n" + "\n".join(f"- `{c}`: {references[c]}" for c in entry.evidence))
        # plain text: code type inside a caption's grey falls under 4.5:1 contrast
        st.caption(f"{entry.id} · rules/{entry.file} · reviewed {entry.reviewed.isoformat()}")


def main() -> None:
    knowledge = ui.aid().knowledge
    entries, citations = _catalogue()
    st.title("Knowledge base")
    dates = sorted({e.reviewed for e in entries})
    st.markdown(
        f"Knowledge version **{knowledge.version}** · {len(knowledge.red_flags)} red flags, "
        f"{len(knowledge.findings)} findings, {len(knowledge.rules)} option rules, {len(citations)} citations · "
        f"reviewed {dates[0].isoformat()}" + (f" to {dates[-1].isoformat()}" if len(dates) > 1 else "")
    )
    text = st.text_input("Search", placeholder="a word, a rule id, a citation: e.g. osteoporosis, coflex, nice-ng59")
    left, middle, right = st.columns(3)
    options = left.multiselect("Options", OPTIONS, format_func=OPTION_NAMES.get, placeholder="all options")
    effects = middle.multiselect("Effects", [*reversed(EFFECTS), catalogue.NOTE], placeholder="all effects")
    kinds = right.multiselect("Kinds", catalogue.KINDS, placeholder="all kinds")
    where, specific = st.columns([1, 2], vertical_alignment="bottom")
    chosen = where.selectbox(
        "Jurisdiction",
        [ANY_JURISDICTION, *JURISDICTIONS],
        format_func=lambda j: "any" if j == ANY_JURISDICTION else f"applies under {ui.jurisdiction_words(j)}",
        key="kb_jurisdiction",
    )
    specific_only = specific.checkbox("Only jurisdiction-specific entries (marked ⚖)", key="kb_specific")
    jurisdiction = None if chosen == ANY_JURISDICTION else chosen
    found = catalogue.search(entries, text, options, effects, kinds, jurisdiction, specific_only)
    filtered = bool(options or effects or kinds or jurisdiction or specific_only)
    cited = catalogue.search_citations(citations, text, {e.id for e in found} if filtered else None)
    rules_tab, citations_tab, changes_tab = st.tabs(
        [f"Rules and findings ({len(found)})", f"Citations ({len(cited)})", "Changes"]
    )
    references = {c.id: c.reference for c in citations}
    with rules_tab:
        st.caption(f"Showing {len(found)} of {len(entries)} entries.")
        for entry in found:
            show_entry(entry, references)
    with citations_tab:
        st.caption(f"Showing {len(cited)} of {len(citations)} citations.")
        for c in cited:
            by = ", ".join(f"`{i}`" for i in c.cited_by) or "no rule (a reference for the patient view)"
            st.markdown(f"**{c.id}**: {c.reference}  \nCited by: {by}")
    with changes_tab:
        show_changes(knowledge.directory, knowledge.version)  # change log and verdict changes


ui.show_page(main, "Knowledge base", "Please reload; the details are in the server log.")
