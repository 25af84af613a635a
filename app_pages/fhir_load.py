"""Load from a FHIR bundle (the Consultation page): the record's factors fill the form, each marked
with where it came from; what was not used or conflicted is listed; everything still needed
(the red flags, the motor deficit, conservative care, ...) is left for the clinician to answer
before Assess. No red flag is ever pre-answered "no".

The bundle is read in this browser session only (decision_aid.records.fhir_import; the same
1 MB limit as a patient file, larger bundles through `decision-aid assess --fhir`); nothing is
written or sent anywhere. A bundle that cannot be read leaves the session as it was, with a
"Could not load ..." message. The page passes in how to start a patient and where its load
message lives, so this module holds no state of the page's own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import streamlit as st

from app_pages import ui
from decision_aid.errors import InputError
from decision_aid.json_text import MAX_INPUT_BYTES
from decision_aid.knowledge.labels import field_label, show_value
from decision_aid.records.fhir_import import ImportedRecord, import_bundle
from decision_aid.records.fhir_text import conflict_text, source_caption

_log = logging.getLogger("app_pages.fhir_load")

UPLOAD = "fhir_upload"
POPOVER = "fhir_popover"
RECORD = "fhir_record"  # what the last bundle gave (texts and values only), until another patient starts
KEYS = (RECORD,)  # the page forgets these when another patient starts
SHOWN_PROBLEMS = 6
UNCHANGED = "The form is unchanged."


@dataclass(frozen=True)
class Loaded:
    """What the page shows of an imported bundle."""

    name: str
    sources: dict[str, tuple[Any, str]]  # field -> (the record's value, "from the record: ...")
    skipped: list[str]
    conflicts: list[str]
    needed: list[str]  # labels, in the form's words


def loader(start_patient: Callable[[dict[str, Any]], None], message_key: str) -> None:
    """The "Load from a FHIR bundle" button (a popover with the upload), beside the patient-file load."""
    with st.popover("Load from a FHIR bundle", icon=":material/clinical_notes:", key=POPOVER, on_change="rerun"):
        st.file_uploader(
            "A FHIR R4 Bundle (JSON) from the electronic record",
            type=["json"],
            key=UPLOAD,
            on_change=_load,
            args=(start_patient, message_key),
            help=f"Up to {MAX_INPUT_BYTES:,} bytes (larger bundles: decision-aid assess --fhir). Read in your "
            "browser session only; nothing is stored on the server or sent anywhere.",
        )


def _load(start_patient: Callable[[dict[str, Any]], None], message_key: str) -> None:
    # The patient-file load's guard (imported here: it reads the form, which shows this module's
    # captions): each upload is loaded once, so a rerun sending it again never reloads it over what
    # was typed since, and a late rerun carrying the form from before the load does not undo it.
    from app_pages import load_guard
    from app_pages.consultation_form import answers, commit_widgets

    upload = st.session_state.get(UPLOAD)
    if upload is None or not load_guard.first_time(upload):
        return
    commit_widgets()
    before = dict(answers())
    name = _name(upload)
    try:
        record = _read(upload)
        shown = _loaded(name, record)
    except InputError as error:
        outcome = ("error", f"Could not load {name}: {_problems(error)}. {UNCHANGED}")
    except Exception as error:  # whatever a hostile file causes: never a traceback, never half a patient
        _log.warning("a FHIR bundle failed to load (%s)", type(error).__name__)  # the type only: no patient data
        outcome = ("error", f"Could not load {name}: this tool cannot read it as a FHIR R4 bundle. {UNCHANGED}")
    else:
        start_patient(dict(record.filled))
        load_guard.watch(before, dict(answers()))
        st.session_state[RECORD] = shown.__dict__  # plain data: the page's modules may be reloaded
        count = len(record.filled)
        outcome = (
            "success",
            f"Loaded {name}: {count} answer{'s' if count != 1 else ''} from the record, each marked with its "
            f"source. Please answer the {len(record.needed)} questions still open, then press Assess.",
        )
    st.session_state[message_key] = outcome
    st.session_state[POPOVER] = False  # closed, so the message below it is seen


def _name(upload: Any) -> str:
    try:
        return ui.shorten(upload.name or "the bundle", 60)
    except Exception:
        return "the bundle"


def _read(upload: Any) -> ImportedRecord:
    size = upload.size
    if size > MAX_INPUT_BYTES:  # refused unread, as a patient file is
        raise InputError([_too_large(size)])
    return import_bundle(upload.getvalue())


def _too_large(size: int):
    from decision_aid.errors import InputProblem

    limit = f"a bundle here may be at most {MAX_INPUT_BYTES:,} bytes; use decision-aid assess --fhir"
    return InputProblem("(file)", f"too large ({size:,} bytes; {limit})")


def _problems(error: InputError) -> str:
    texts = [ui.shorten(str(p) if not p.field.startswith("(") else p.message, 200) for p in error.problems]
    more = len(texts) - SHOWN_PROBLEMS
    return "; ".join(texts[:SHOWN_PROBLEMS]) + (f"; and {more} more" if more > 0 else "")


def _loaded(name: str, record: ImportedRecord) -> Loaded:
    return Loaded(
        name=name,
        sources={n: (v, source_caption(record.provenance[n])) for n, v in record.filled.items()},
        skipped=[str(s) for s in record.skipped],
        conflicts=[conflict_text(c) for c in record.conflicts],
        needed=[field_label(n) for n in record.needed],
    )


def caption(name: str, current: Any) -> None:
    """Under a pre-filled input: where its value came from, or that it was changed here."""
    loaded = _shown()
    if loaded is None or name not in loaded.sources:
        return
    value, text = loaded.sources[name]
    if _same(current, value):
        st.caption(ui.md(text))
    else:
        st.caption(":orange[" + ui.md(f"changed here: {text} gave {show_value(name, value)}") + "]")


def report() -> None:
    """Below the load message: what the bundle gave, what was not used or conflicted, what is still open."""
    loaded = _shown()
    if loaded is None:
        return
    title = f"From the record ({loaded.name}): {len(loaded.sources)} filled"
    title += f", {len(loaded.skipped)} not used, {len(loaded.conflicts)} conflicting"
    with st.expander(ui.md(title), expanded=bool(loaded.conflicts)):
        parts = ["**Filled from the record** (marked under each input): " + _listed(list(loaded.sources))]
        if loaded.skipped:
            parts.append("**Not used:**\n" + "\n".join(f"- {ui.md(s)}" for s in loaded.skipped))
        if loaded.conflicts:
            parts.append(
                "**Conflicting** (not used; please answer):\n" + "\n".join(f"- {ui.md(c)}" for c in loaded.conflicts)
            )
        if loaded.needed:
            parts.append("**Still to answer before Assess:** " + ui.md(", ".join(loaded.needed)))
        parts.append("Nothing was stored or sent anywhere: the bundle was read in this browser session only.")
        st.markdown("\n\n".join(parts))


def _shown() -> Loaded | None:
    saved = st.session_state.get(RECORD)
    return Loaded(**saved) if isinstance(saved, dict) else None


def _listed(names: list[str]) -> str:
    return ui.md(", ".join(field_label(n) for n in names)) if names else "nothing the code map knows"


def _same(a: Any, b: Any) -> bool:
    numbers = all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in (a, b))
    return a == b if numbers else (type(a) is type(b) and a == b)
