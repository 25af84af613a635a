"""Shared look of the app: verdict badges (colour and words), the footer, safe error display,
and messages whose text is shown exactly as written (never as markdown or HTML)."""

from __future__ import annotations

import html
import logging
import os
import re
from collections.abc import Callable

import streamlit as st

from decision_aid import default_aid
from decision_aid.knowledge.fields import settings
from decision_aid.knowledge.labels import VERDICT_WORDS, guidance, show_value
from decision_aid.models import DEFAULT_JURISDICTION, JURISDICTIONS
from decision_aid.views.patient_view import view_of

# Colour is never the only signal: every badge also carries the verdict in words and a symbol.
VERDICT_STYLE = {
    "worth_discussing": ("#1b5e20", "#e8f5e9", "✔"),
    "discuss_with_caution": ("#8a4b00", "#fff3e0", "⚠"),
    "not_advised": ("#b71c1c", "#ffebee", "✖"),
    "not_applicable": ("#424242", "#eeeeee", "–"),
}

# A message box: colours and symbol per kind (the symbol also says what kind it is).
MESSAGE_STYLE = {
    "error": ("#7d353b", "rgba(255, 43, 43, 0.09)", "✖"),
    "success": ("#177233", "rgba(33, 195, 84, 0.1)", "✔"),
}
QUOTE_CHARS = 80  # at most this much of a user-supplied string goes into a message
# Characters that would be invisible or reorder the text around them, shown as their code instead.
_INVISIBLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")

SUPPORT_STATEMENT = (
    "This tool supports, and does not replace, clinical judgement and the conversation with your clinician."
)


# The deployment's default jurisdiction: `uk` or `us` in this environment variable (unset or empty: uk).
JURISDICTION_ENV = "DECISION_AID_JURISDICTION"
JURISDICTION = "jurisdiction"  # session state: the jurisdiction this browser session assesses under
_JURISDICTION_CHOICE = "jurisdiction_choice"  # the control's own state, copied into JURISDICTION


def configured_jurisdiction() -> tuple[str, str | None]:
    """The deployment's default jurisdiction, and what is wrong with its configuration (None when
    nothing is). A value that is neither uk nor us is refused, never guessed: the default (uk) stands
    and every page says so until the deployment is corrected."""
    raw = os.environ.get(JURISDICTION_ENV, "")
    value = raw.strip().lower()
    if not value:
        return DEFAULT_JURISDICTION, None
    if value in JURISDICTIONS:
        return value, None
    allowed = " or ".join(JURISDICTIONS)
    return DEFAULT_JURISDICTION, (
        f"This deployment's setting {JURISDICTION_ENV}={shorten(raw, 40)!r} is not a jurisdiction (it must be "
        f"{allowed}). The verdicts follow {jurisdiction_words(DEFAULT_JURISDICTION)}, the default, until the "
        "setting is corrected; the jurisdiction can be switched for this session at the top of the page."
    )


def jurisdiction() -> str:
    """The jurisdiction this browser session assesses under: the deployment's default until switched."""
    value = st.session_state.get(JURISDICTION)
    if value not in JURISDICTIONS:
        value = st.session_state[JURISDICTION] = configured_jurisdiction()[0]
    return value


def jurisdiction_words(value: str) -> str:
    """ "UK guidance" or "USA guidance": the jurisdiction in the words of rules/fields.yaml."""
    return guidance(value)


def _switched() -> None:
    choice = st.session_state.get(_JURISDICTION_CHOICE)
    if choice in JURISDICTIONS:
        st.session_state[JURISDICTION] = choice


def jurisdiction_bar() -> None:
    """At the top of every page: the jurisdiction the verdicts follow (switchable for this session)
    beside the knowledge version, and any problem with the deployment's configuration."""
    problem = configured_jurisdiction()[1]
    if problem:
        message("error", problem)
    st.session_state[_JURISDICTION_CHOICE] = jurisdiction()
    spec = settings()["jurisdiction"]
    with st.container(horizontal=True, vertical_alignment="center", key="da_jurisdiction_bar"):
        st.segmented_control(
            "Verdicts follow",
            JURISDICTIONS,
            format_func=jurisdiction_words,
            required=True,
            key=_JURISDICTION_CHOICE,
            on_change=_switched,
            help=spec.help + " The choice holds for this browser session only.",
        )
        st.caption(f"Knowledge version {aid().knowledge.version}")


@st.cache_resource
def aid():
    """The process-wide DecisionAid (its engine serialises access across sessions): the pages pass
    it, or its knowledge, to everything they show."""
    return default_aid()


def view():
    """The patient view beside the DecisionAid's knowledge (loaded once)."""
    return view_of(aid().knowledge)


def value_text(name: str, value: object) -> str:
    """A patient's value as every view shows it, with the DecisionAid's thresholds."""
    return show_value(name, value, aid().knowledge.thresholds)


def verdict_badge(verdict: str, text: str | None = None) -> str:
    """HTML for a verdict badge: coloured, with a symbol and the verdict in words. It wraps between
    words in a narrow box (never inside a word, never beyond the box)."""
    fg, bg, symbol = VERDICT_STYLE[verdict]
    words = html.escape(text or VERDICT_WORDS[verdict])
    return (
        f'<span class="da-badge" style="color:{fg};background:{bg};border-color:{fg}">'
        f'<span aria-hidden="true">{symbol}</span>\u00a0{words}</span>'
    )


def urgent_banner(assessment) -> None:
    """What to do now, and that every elective option is suspended: the urgent referral's banner."""
    actions = "\n".join(f"- **{md(a.message)}**" for a in assessment.alerts)
    st.error(
        f"### Urgent referral: not an elective discussion\n{actions}\n\n"
        "Every elective option is suspended until the urgent assessment is done.",
        icon=":material/emergency:",
    )


def heading(level: int, text: str) -> None:
    """A section heading at `level` (2 or 3, under the page's title), sized for a section, with no
    anchor link: pages keep their headings in order (h1, then h2, then h3) for screen readers."""
    st.html(f'<h{level} class="da-heading">{html.escape(text)}</h{level}>')


def field_help(title: str, items: list[tuple[str, str]]) -> None:
    """The help for a group of inputs, together in one expander: one tab stop for the group
    instead of a help icon on every input, and read by a screen reader like any text."""
    shown = [(label, text) for label, text in items if text]
    if shown:
        with st.expander(f"Help: {title}", icon=":material/help:"):
            st.markdown("\n".join(f"- **{md(label)}**: {md(text)}" for label, text in shown))


def md(text: str) -> str:
    """Plain text made safe for Markdown (no accidental emphasis, maths or links)."""
    return re.sub(r"([\\`*_{}\[\]<>$~|#])", r"\\\1", text)


def shorten(text: object, limit: int = QUOTE_CHARS) -> str:
    """User-supplied text for a message: control and invisible characters shown as their code
    (a file name cannot hide or reorder what follows it), and at most `limit` characters."""
    text = _INVISIBLE.sub(lambda m: f"<U+{ord(m[0]):04X}>", str(text))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def message(kind: str, text: str) -> None:
    """A message box ("error" or "success") showing `text` exactly as written.

    Not st.error/st.success: their text is markdown, so a file name like **x**.json would
    turn bold and a field named ![t](http://host/x.png) would make the browser fetch that
    address. Here the text is escaped into HTML and is never parsed as markdown.
    """
    fg, bg, symbol = MESSAGE_STYLE[kind]
    role = "alert" if kind == "error" else "status"
    st.html(
        f'<div class="da-message da-message-{kind}" role="{role}" style="color:{fg};background:{bg};'
        f'border-radius:0.5rem;padding:0.75rem 1rem;line-height:1.5;overflow-wrap:anywhere">'
        f'<span aria-hidden="true" style="margin-right:0.6rem">{symbol}</span>{html.escape(text)}</div>'
    )


# The look every page shares: badges and tables that wrap between words (never inside one, never
# past their box), and a heading kept for screen readers only where the layout needs no visible one.
STYLE = """<style>
.da-badge { display: inline-block; max-width: 100%; box-sizing: border-box; white-space: normal;
  overflow-wrap: normal; word-break: normal; hyphens: manual; line-height: 1.35; vertical-align: middle;
  border: 1px solid; border-radius: 0.4rem; padding: 0.1rem 0.5rem; font-weight: 600; }
.da-table { width: 100%; border-collapse: collapse; }
.da-table th { text-align: left; }
.da-table th, .da-table td { padding: 0.3rem 0.4rem; vertical-align: top; }
.da-heading { padding: 0; color: inherit; scroll-margin-top: 4rem; }
h2.da-heading { font-size: 1.4rem; font-weight: 700; margin: 0 0 0.6rem 0; }
h3.da-heading { font-size: 1.1rem; font-weight: 600; margin: 0.9rem 0 0.4rem 0; }
.da-sr-only { position: absolute !important; width: 1px; height: 1px; padding: 0; margin: -1px; overflow: hidden;
  clip: rect(0, 0, 0, 0); white-space: nowrap; border: 0; }
</style>"""


def show_page(body: Callable[[], None], name: str, advice: str) -> None:
    """Run a page, then the footer; any error becomes a calm message (the details go to the
    server log), never a traceback on a clinician's screen."""
    log = logging.getLogger(f"app_pages.{name}")
    try:
        st.html(STYLE)
        jurisdiction_bar()
    except Exception:
        log.exception("the jurisdiction bar failed")
    try:
        body()
    except Exception:
        log.exception("the %s page failed", name)
        st.error(f"Sorry, something went wrong while showing this page. {advice}", icon=":material/error:")
    try:
        footer()
    except Exception:
        log.exception("the footer failed")
        st.caption(SUPPORT_STATEMENT)


def footer() -> None:
    """On every page: the knowledge version, the jurisdiction and the support statement."""
    st.divider()
    st.caption(
        f"Knowledge version {aid().knowledge.version} · {jurisdiction_words(jurisdiction())} · {SUPPORT_STATEMENT}"
    )
