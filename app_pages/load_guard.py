"""A patient-file load that a late rerun cannot undo (the Consultation page).

Each uploaded file (by its file_id) is loaded once: a rerun that sends the same upload again, or an
earlier one, never reloads it (which would reset what was typed since, or bring back the patient
before). A rerun the browser sent before it had the load (on a busy machine one can reach the
server after the load's own: the popover's, or the one that empties the upload box before the new
file) carries the form as it was before the load, and the popover open: the page then keeps the
loaded answers and the popover closed, so the load's message, shown outside the popover, stays in
view. A refused file is watched the same way, so its message stays in view too. Such a late rerun
is recognised by its answers (every answer that the load changed is back at its value from before
the load) or by its upload box (empty, or holding an earlier file). The watch ends with the first
rerun that is not late (the browser has the result). After each upload the popover is drawn anew
(`fresh_label`), so it closes even in a browser that never saw the rerun which opened it.

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
HANDLED = "load_guard_handled"  # how many uploads were handled: the popover is drawn anew after each


@dataclass(frozen=True)
class _Watch:
    before: dict[str, Any]  # the answers the load changed, as they were before it
    after: dict[str, Any]  # every answer as the load left it
    file_id: Any = None  # the upload handled, and the session key of the box that holds it (None: not known)
    upload_key: str | None = None
    popover_key: str | None = None  # the popover it was given in (None: the page's own)
    loaded: bool = True  # it was loaded (a new patient), not refused
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


def watch(
    before: dict[str, Any],
    after: dict[str, Any],
    *,
    upload: Any = None,
    upload_key: str | None = None,
    popover_key: str | None = None,
    loaded: bool = True,
) -> None:
    """After an upload is handled (`loaded`, or refused): remember what it changed (`before`: the answers
    before it, `after`: after it) until the browser shows the result; with `upload` and the session key
    of its box (`upload_key`), a late rerun is also told by that box, and `popover_key` names the
    popover to keep closed."""
    changed = {name: value for name, value in before.items() if after.get(name) != value}
    file_id = getattr(upload, "file_id", None)
    st.session_state[WATCH] = _Watch(changed, dict(after), file_id, upload_key, popover_key, loaded)
    st.session_state[HANDLED] = st.session_state.get(HANDLED, 0) + 1


def fresh_label(label: str) -> str:
    """The upload popover's label, new after each handled upload (a zero-width space on every other one,
    so it reads and looks the same). The popover is then drawn as a new element, closed: a browser that
    never saw the rerun which opened it (on a busy machine the load's rerun can cut it short) would
    otherwise keep it open over the load's message, since the closed state it is sent is the last it saw."""
    return label + "\u200b" * (st.session_state.get(HANDLED, 0) % 2)


def late_rerun(current: dict[str, Any]) -> _Watch | None:
    """What the last upload did, when this rerun (its widgets already read into the answers `current`)
    was sent before the browser had its result: the answers the upload changed are back as they were,
    or its upload box does not hold it (empty, or an earlier file). None otherwise; the first rerun
    that is not late ends the watch."""
    seen = st.session_state.get(WATCH)
    if not isinstance(seen, _Watch):
        return None
    if not seen.sent:  # the load's own rerun: its answers are the load's, not the browser's
        st.session_state[WATCH] = replace(seen, sent=True)
        return None
    reverted = bool(seen.before) and all(current.get(name) == value for name, value in seen.before.items())
    box = st.session_state.get(seen.upload_key) if seen.upload_key else None
    if reverted or (seen.upload_key and getattr(box, "file_id", None) != seen.file_id):
        return seen
    if seen.upload_key or any(current.get(name) == seen.after.get(name) for name in seen.before):
        st.session_state.pop(WATCH, None)  # the browser has the result (an answer typed since aside)
    return None


def keep_the_load(popover_key: str) -> bool:
    """At the top of a rerun, once the widgets are read into the answers: if the rerun is a late one,
    put the answers of the last upload back, forget the ratings it brought back (after a load), keep
    its popover (else the one whose session key is `popover_key`) closed, and say True."""
    seen = late_rerun(answers())
    if seen is None:
        return False
    set_answers(seen.after)
    if seen.loaded:
        patient_tab.clear()
    st.session_state[seen.popover_key or popover_key] = False
    return True


def forget() -> None:
    """A new patient by hand: no load is watched any more (the file_id stays handled)."""
    st.session_state.pop(WATCH, None)
