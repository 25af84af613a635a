"""A patient-file load that a late rerun cannot undo (the Consultation page).

Each uploaded file (by its file_id) is loaded once: a rerun that sends the same upload again, or an
earlier one, never reloads it (which would reset what was typed since, or bring back the patient
before). A rerun the browser sent before it had the load (on a busy machine one can reach the
server after the load's own: the popover's, or the one that empties the upload box before the new
file) carries the form as it was before the load, and the popover open: the page then keeps the
loaded answers and the popover closed, so the load's message, shown outside the popover, stays in
view. Such a late rerun is recognised by its answers: every answer that the load changed is back
at its value from before the load. The watch ends with the first rerun that carries the loaded
answers (the browser has the load).

Only answers and the file's id are kept, in this browser session; nothing is written anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import streamlit as st

from app_pages import patient_tab
from app_pages.consultation_form import answers, set_answers

SEEN = "load_guard_file_ids"  # the file_ids of the uploads handled (loaded or refused), latest last
REMEMBERED = 100  # of them, in one browser session
WATCH = "load_guard_watch"  # what the last load changed, until the browser shows it


@dataclass(frozen=True)
class _Watch:
    before: dict[str, Any]  # the answers the load changed, as they were before it
    after: dict[str, Any]  # every answer as the load left it
    sent: bool = False  # the load's own rerun is over: what comes next was sent by the browser


def first_time(upload: Any) -> bool:
    """True the first time this upload is handled, and it is remembered; False for a file handled before
    (a late rerun may carry an earlier upload: it must not load that patient again)."""
    file_id = getattr(upload, "file_id", None)
    seen = st.session_state.setdefault(SEEN, [])
    if file_id in seen:
        return False
    seen[:] = [*seen[-(REMEMBERED - 1) :], file_id]
    return True


def watch(before: dict[str, Any], after: dict[str, Any]) -> None:
    """After a load: remember what it changed (`before`: the answers before it, `after`: after it)."""
    changed = {name: value for name, value in before.items() if after.get(name) != value}
    if changed:
        st.session_state[WATCH] = _Watch(changed, dict(after))
    else:  # the same answers again: no late rerun could be told from a current one, nor undo anything
        st.session_state.pop(WATCH, None)


def late_rerun(current: dict[str, Any]) -> dict[str, Any] | None:
    """The loaded answers, when this rerun (its widgets already read into `current`) was sent before the
    browser had the load; None otherwise. The first rerun carrying the loaded answers ends the watch."""
    seen = st.session_state.get(WATCH)
    if not isinstance(seen, _Watch):
        return None
    if not seen.sent:  # the load's own rerun: its answers are the load's, not the browser's
        st.session_state[WATCH] = replace(seen, sent=True)
        return None
    if all(current.get(name) == value for name, value in seen.before.items()):
        return dict(seen.after)
    if any(current.get(name) == seen.after.get(name) for name in seen.before):
        st.session_state.pop(WATCH, None)  # the browser has the load (an answer typed since aside)
    return None


def keep_the_load(popover_key: str) -> bool:
    """At the top of a rerun, once the widgets are read into the answers: if the rerun is a late one,
    put the loaded answers back, forget the ratings it brought back, keep the upload popover (its
    session key `popover_key`) closed, and say True."""
    loaded = late_rerun(answers())
    if loaded is None:
        return False
    set_answers(loaded)
    patient_tab.clear()
    st.session_state[popover_key] = False
    return True


def forget() -> None:
    """A new patient by hand: no load is watched any more (the file_id stays handled)."""
    st.session_state.pop(WATCH, None)
