"""Shared look of the app: verdict badges (colour and words), the footer, safe error display."""

from __future__ import annotations

import html
import logging
from collections.abc import Callable

import streamlit as st

from decision_aid import default_aid
from decision_aid.labels import VERDICT_WORDS

# Colour is never the only signal: every badge also carries the verdict in words and a symbol.
VERDICT_STYLE = {
    "worth_discussing": ("#1b5e20", "#e8f5e9", "✔"),
    "discuss_with_caution": ("#8a4b00", "#fff3e0", "⚠"),
    "not_advised": ("#b71c1c", "#ffebee", "✖"),
    "not_applicable": ("#424242", "#eeeeee", "–"),
}

SUPPORT_STATEMENT = (
    "This tool supports, and does not replace, clinical judgement and the conversation with your clinician."
)


@st.cache_resource
def aid():
    """The process-wide DecisionAid (its engine serialises access across sessions)."""
    return default_aid()


def verdict_badge(verdict: str, text: str | None = None) -> str:
    """HTML for a verdict badge: coloured, with a symbol and the verdict in words."""
    fg, bg, symbol = VERDICT_STYLE[verdict]
    words = html.escape(text or VERDICT_WORDS[verdict])
    return (
        f'<span style="color:{fg};background:{bg};border:1px solid {fg};border-radius:0.4rem;'
        f'padding:0.1rem 0.5rem;font-weight:600;white-space:nowrap">{symbol} {words}</span>'
    )


def show_page(body: Callable[[], None], name: str, advice: str) -> None:
    """Run a page, then the footer; any error becomes a calm message (the details go to the
    server log), never a traceback on a clinician's screen."""
    log = logging.getLogger(f"app_pages.{name}")
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
    """On every page: the knowledge version and the support statement."""
    st.divider()
    st.caption(f"Knowledge version {aid().knowledge.version} · {SUPPORT_STATEMENT}")
