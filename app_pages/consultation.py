"""Consultation: the patient's factors in; each option's verdict, why, and what would change it.

Thin by design: decision_aid.views.consultation computes everything shown here.
Nothing is written to disk; the patient lives in the browser session only.
"""

from __future__ import annotations

import html
import logging
import re

import streamlit as st

from app_pages import fhir_load, load_guard, patient_tab, ui
from app_pages.consultation_form import answers, commit_widgets, factors_form, input_label, set_answers
from decision_aid.engine.missing import Ask, by_test
from decision_aid.errors import InputError, InputProblem
from decision_aid.json_text import MAX_INPUT_BYTES
from decision_aid.knowledge.fields import fields
from decision_aid.knowledge.labels import OPTION_NAMES, VERDICT_WORDS
from decision_aid.views.consultation import Consultation, consult, load_record_in_form_words
from decision_aid.views.form import RED_FLAG_WORDS, RED_FLAGS, REQUIRED_WORDS, read_answers, readable
from decision_aid.views.letter import SO_FAR, could_change, key_reasons, label, only_nothing_indicates

_log = logging.getLogger("app_pages.Consultation")

try:  # the PDF handout is optional: the page works without it
    from decision_aid.views.handout import build_handout
except ImportError:  # pragma: no cover - depends on the install
    build_handout = None


ASSESSED = "assessed"  # the form has been submitted (or a patient loaded) at least once
LOAD_MESSAGE = "load_message"
JUST_SUBMITTED = "just_submitted"  # show a short confirmation after Assess, wherever the user has scrolled
PATIENT = "patient"  # the patient the verdicts shown belong to (absent while the form is invalid)
LOAD_POPOVER = "load_popover"  # open or closed: closed after a load, so its result is seen
# Everything about one patient that the session holds besides the answers and the ratings (their
# modules forget those): one function, _start_patient, replaces it all at once.
PATIENT_KEYS = (ASSESSED, LOAD_MESSAGE, JUST_SUBMITTED, PATIENT, *fhir_load.KEYS)
EFFECT_TAGS = {
    "supports": ("#1b5e20", "for"),
    "cautions": ("#8a4b00", "caution"),
    "opposes": ("#b71c1c", "against"),
    "excludes": ("#424242", "excluded"),
}
# "Nothing indicates it" where a missing answer could change the verdict: not a contraindication
SO_FAR_TAG = ("#424242", "so far")
SUSPENDED = "suspended: urgent referral"
UNCHANGED = "The form is unchanged."
SHOWN_PROBLEMS = 6  # a file's problems named in the load message; the rest are counted
PROBLEM_CHARS = 200  # of each problem in that message (the values it quotes are short already)
SHOWN_REASONS = 4  # per card; the rest are one click away
GLANCE_REASONS = 3


def page() -> None:
    st.html(_STYLE)
    st.title("Consultation")
    st.caption(
        "Enter what is known. **Not known** is a real answer and the default of every finding: nothing unmeasured "
        "counts as normal. The red flags, motor deficit and weeks of conservative care must be asked. "
        "Press **Assess** to see every option's verdict, why, and what would change it."
    )
    changed = commit_widgets()
    if load_guard.keep_the_load(LOAD_POPOVER):  # a rerun sent before the browser had the load: undone
        changed = False
    if changed:
        st.session_state.pop(LOAD_MESSAGE, None)  # the form has moved on from the last load
    consultation, problems = _assess()
    if st.session_state.pop(JUST_SUBMITTED, False):
        if problems:
            st.toast("Some answers need attention before the options can be assessed.", icon=":material/edit_note:")
        elif consultation is not None and consultation.assessment.urgent_referral:
            st.toast("Urgent referral: the elective options are suspended.", icon=":material/emergency:")
        elif consultation is not None:
            st.toast("Assessed: every option's verdict is shown.", icon=":material/check_circle:")
    form_column, result_column = st.columns([5, 7], gap="large")
    with form_column:
        _patient_actions()
        factors_form(problems, on_submit=_submitted)
    with result_column:
        _results(consultation, problems)


# A little less empty space above the title; cards and tiles in the theme's colours.
_STYLE = """<style>
[data-testid="stMainBlockContainer"] { padding-top: 2.5rem; }
@media (min-width: 641px) {  /* the form scrolls in its own pane only beside the results, never on a phone */
  .st-key-factors_pane { max-height: calc(100vh - 19rem); min-height: 20rem; overflow-y: auto; padding-right: 0.6rem; }
}
@media (min-width: 641px) and (max-width: 1279px) {  /* narrow inputs beside the results: no +/- buttons */
  .st-key-factors_pane [data-testid="stNumberInputStepDown"],
  .st-key-factors_pane [data-testid="stNumberInputStepUp"] { display: none; }  /* so "not known" shows whole */
}
@media (min-width: 641px) and (max-width: 1023px) {  /* narrower still: one input a row */
  .st-key-factors_pane [data-testid="stHorizontalBlock"] { flex-wrap: wrap; }
  .st-key-factors_pane [data-testid="stColumn"] { flex: 1 1 100% !important; min-width: 100% !important; }
}
/* at most three tiles a row, fewer when a tile would be narrower than 10rem; words wrap whole */
.da-glance { display: grid; gap: 0.6rem; margin-bottom: 0.4rem;
  grid-template-columns: repeat(auto-fill, minmax(max(10rem, calc((100% - 1.2rem) / 3)), 1fr)); }
.da-tile { border: 1px solid #d5dde4; border-radius: 0.5rem; padding: 0.55rem 0.75rem; background: #fbfcfd;
  min-width: 0; overflow-wrap: normal; word-break: normal; hyphens: manual; }
.da-tile-name { font-weight: 600; margin-bottom: 0.3rem; }
.da-tile-why { font-size: 0.82rem; color: #4a5763; margin-top: 0.35rem; line-height: 1.3; }
.da-reasons p { font-size: 0.92rem; margin: 0 0 0.45rem 0; line-height: 1.4; }
.da-cite { color: #5b6b77; font-size: 0.8rem; }
.da-changes ul { margin: 0 0 0.4rem 0; padding-left: 1.2rem; }
.da-changes li { font-size: 0.92rem; line-height: 1.4; margin-bottom: 0.25rem; }
.da-so-far { font-size: 0.9rem; font-style: italic; margin: 0.45rem 0 0.2rem 0; }
</style>"""


# ---- state and actions --------------------------------------------------------------------


def _assess() -> tuple[Consultation | None, dict[str, str]]:
    """The consultation for the current answers, or the problems that stop it."""
    if not st.session_state.get(ASSESSED):
        return None, {}
    reading = read_answers(answers())
    consultation = None
    if reading.ok:
        try:
            consultation = _consult(reading.patient)
        except InputError as error:  # the contract's last word, should the form's reading miss something
            reading = type(reading)(reading.patient, {p.field: readable(p.message) for p in error.problems})
    if consultation is None:
        st.session_state.pop(PATIENT, None)  # no verdict of an earlier state stands while the form is invalid
        return None, reading.problems
    st.session_state[PATIENT] = consultation.patient.model_dump(mode="json")
    return consultation, {}


def _consult(patient: dict) -> Consultation:
    """The consultation under this session's jurisdiction (switched at the top of every page)."""
    return consult(patient, ui.aid(), ui.jurisdiction())


def _problem_text(field: str, message: str, json_name: bool = False) -> str:
    """One problem in words: "Age (years): required"; a whole-file problem without a field name.

    For a file, the field's name in the JSON is given too, since that is what must be fixed there.
    """
    if field not in fields():
        return message if field.startswith("(") else f"'{ui.shorten(field, 60)}': {message}"
    return f"{input_label(field)}{f' (“{field}”)' if json_name else ''}: {message}"


def _submitted() -> None:
    commit_widgets()
    st.session_state[ASSESSED] = True
    st.session_state[JUST_SUBMITTED] = True
    st.session_state.pop(LOAD_MESSAGE, None)


def _load_file() -> None:
    """Load the uploaded patient file, or say calmly why not.

    Whatever the file holds, nothing on the page changes unless it loads and assesses
    completely: the new answers are applied only after every step has succeeded.
    """
    upload = st.session_state.get("upload")
    if upload is None or not load_guard.first_time(upload):
        return  # nothing given, or the same upload sent again by a rerun: each file is loaded once
    commit_widgets()  # what the form held when the file came (a late rerun brings it back)
    before = dict(answers())
    name = _file_name(upload)
    try:
        values, saved_under = _read_patient(upload)
    except InputError as error:
        outcome = _refused(name, error)
    except Exception as error:  # whatever else a hostile file causes: never a traceback, never half a patient
        outcome = _unreadable(name, error)
    else:
        _start_patient(values)
        st.session_state[ASSESSED] = True
        outcome = ("success", f"Loaded {name}.{_saved_under(saved_under)}")
    load_guard.watch(before, dict(answers()), upload=upload, upload_key="upload", loaded=outcome[0] == "success")
    st.session_state[LOAD_MESSAGE] = outcome
    st.session_state[LOAD_POPOVER] = False  # closed, so the message below it is seen


def _file_name(upload) -> str:
    try:
        return ui.shorten(upload.name or "the file", 60)
    except Exception:
        return "the file"


def _saved_under(saved: str | None) -> str:
    """What the load message adds when a saved consultation was assessed under another jurisdiction: the
    session keeps its own (a file never changes whose guidance the verdicts follow), and says so."""
    now = ui.jurisdiction()
    if saved is None or saved == now:
        return ""
    return (
        f" It was saved under {ui.jurisdiction_words(saved)}; the verdicts shown now follow "
        f"{ui.jurisdiction_words(now)}, this session's setting (switch it at the top of the page to see "
        f"them under {ui.jurisdiction_words(saved)})."
    )


def _read_patient(upload) -> tuple[dict, str | None]:
    """The uploaded patient's values, checked to assess, and the jurisdiction a saved consultation
    was assessed under (None for a bare patient file); raises InputError (or anything) otherwise."""
    size = upload.size
    if size > MAX_INPUT_BYTES:  # refused unread
        limit = f"one patient may be at most {MAX_INPUT_BYTES:,} bytes"
        raise InputError([InputProblem("(file)", f"too large ({size:,} bytes; {limit})")])
    loaded = load_record_in_form_words(upload.getvalue())  # every problem at once, in the form's words
    values = loaded.patient.model_dump()
    _consult(values)  # a patient that cannot be assessed is not loaded either
    return values, loaded.jurisdiction


def _refused(name: str, error: InputError) -> tuple[str, str]:
    """What is wrong with the file, a sentence per problem: the first few, then how many more."""
    try:
        problems = [_problem_text(p.field, p.message, json_name=True) for p in error.problems]
        problems = [ui.shorten(problem, PROBLEM_CHARS).rstrip(".") + "." for problem in problems]
        more = len(problems) - SHOWN_PROBLEMS
        text = " ".join(problems[:SHOWN_PROBLEMS]) + (f" And {more} more." if more > 0 else "")
    except Exception as failure:
        return _unreadable(name, failure)
    return "error", f"Could not load {name}: {text} {UNCHANGED}"


def _unreadable(name: str, error: Exception) -> tuple[str, str]:
    _log.warning("a patient file failed to load (%s)", type(error).__name__)  # the type only: no patient data
    return "error", f"Could not load {name}: this tool cannot read it as a patient file. {UNCHANGED}"


def _new_patient() -> None:
    _start_patient({})


def _start_patient(values: dict) -> None:
    """Replace everything patient-specific at once: the answers (and every input), the ratings of
    "What matters to you" and the page's own state. The verdicts, the handout, the letter and
    Explore's starting point are all made from these, so they follow."""
    set_answers(values)
    patient_tab.clear()
    load_guard.forget()  # a load watches for its late reruns from here on (load_guard.watch)
    for key in PATIENT_KEYS:
        st.session_state.pop(key, None)


def _patient_actions() -> None:
    with st.container(horizontal=True):
        st.button("New patient", icon=":material/person_add:", on_click=_new_patient)
        label = load_guard.fresh_label("Load patient file")  # drawn anew, closed, after each upload
        with st.popover(label, icon=":material/upload_file:", key=LOAD_POPOVER, on_change="rerun"):
            st.file_uploader(
                "A patient JSON file, or a consultation saved from this page",
                type=["json"],
                key="upload",
                on_change=_load_file,
                help="Read in your browser session only; nothing is stored on the server.",
            )
        fhir_load.loader(_start_patient, LOAD_MESSAGE)  # the record's factors, each marked with its source
    message = st.session_state.get(LOAD_MESSAGE)
    if message:
        ui.message(*message)  # it quotes the file: shown as plain text, never as markdown
    fhir_load.report()


def _result_actions(consultation: Consultation) -> None:
    with st.container(horizontal=True):
        st.download_button(
            "Save consultation (JSON)",
            data=consultation.record_json(),
            file_name="consultation.json",
            mime="application/json",
            icon=":material/download:",
            on_click="ignore",
            help="The patient's factors with the assessment, the knowledge version and the jurisdiction; "
            "saved to your computer only.",
        )
        if build_handout is not None:
            st.download_button(
                "Patient handout (PDF)",
                data=_handout_maker(consultation),
                file_name="decision-aid-handout.pdf",
                mime="application/pdf",
                icon=":material/picture_as_pdf:",
                on_click="ignore",
                help="A plain-language handout for the patient to take home.",
            )


def _handout_maker(consultation: Consultation):
    """The PDF is only made when the button is pressed, from the assessment this page made and the
    ratings of "What matters to you" (the patient is not assessed again)."""
    patient, assessment, values, view = consultation.patient, consultation.assessment, patient_tab.ratings(), ui.view()
    return lambda: build_handout(patient, values, view=view, assessment=assessment)


# ---- results ------------------------------------------------------------------------------


def _results(consultation: Consultation | None, problems: dict[str, str]) -> None:
    ui.heading(2, "Assessment")
    if problems:
        st.warning(_summary(problems), icon=":material/edit_note:")
        return
    if consultation is None:
        st.info(
            "Answer the required questions (age, back pain, leg pain, symptom duration, symptomatic levels, slip "
            "grade, weeks of conservative care, motor deficit and the red flags), add whatever else is known, and "
            "press **Assess**.",
            icon=":material/arrow_back:",
        )
        return
    assessment = consultation.assessment
    message = st.session_state.get(LOAD_MESSAGE)
    if message and message[0] == "error":
        st.warning(
            "**The file was not loaded.** The verdicts below are still those of the patient already on the form.",
            icon=":material/block:",
        )
    _result_actions(consultation)
    if assessment.urgent_referral:
        _urgent_banner(assessment)
    clinician, patient, letter = st.tabs(["Options", "For the patient", "Clinic letter"])
    with clinician:
        _glance(consultation)  # with a red flag these read "suspended: urgent referral", and nothing elective follows
        if not assessment.urgent_referral:
            _missing(assessment)
            _option_cards(consultation)
    with patient:
        patient_tab.show(consultation)
    with letter:
        st.caption("Copy into the clinic letter (the copy button is at the top right of the box).")
        st.code(consultation.letter, language=None, wrap_lines=True)


def _summary(problems: dict[str, str]) -> str:
    """Every problem in one list: the questions not answered yet together, then each other problem."""
    unanswered = [input_label(f) for f, m in problems.items() if m == REQUIRED_WORDS]
    flags = [f for f, m in problems.items() if m == RED_FLAG_WORDS]
    lines = []
    if unanswered:
        lines.append(f"- **Not answered yet:** {_md(', '.join(unanswered))}")
    if len(flags) == len(RED_FLAGS):
        lines.append("- **Red flags not asked yet:** answer each question, or tick “None of these red flags”")
    elif flags:
        lines.append(f"- **Red flags not answered:** {_md(', '.join(input_label(f) for f in flags))}")
    lines += [f"- {_md(_problem_text(f, m))}" for f, m in problems.items() if m not in (REQUIRED_WORDS, RED_FLAG_WORDS)]
    return "Some answers need attention before the options can be assessed:\n\n" + "\n".join(lines)


def _urgent_banner(assessment) -> None:
    """What to do now, and why; it replaces the elective view."""
    actions = "\n".join(f"- **{_md(a.message)}**" for a in assessment.alerts)
    st.error(
        f"### Urgent referral: not an elective discussion\n{actions}\n\n"
        "Every elective option is suspended until the urgent assessment is done.",
        icon=":material/emergency:",
    )
    red_flags = next(iter(assessment.options.values())).reasons
    st.markdown(_reasons_html(red_flags, []), unsafe_allow_html=True)
    _sources({c for r in red_flags for c in r.evidence})


def _glance(consultation: Consultation) -> None:
    """All six verdicts at a glance, each with the reasons that decide it in a few words (the rules'
    labels). A "not advised" that rests only on nothing indicating it, where a missing answer could
    change it, says so instead of looking like a contraindication."""
    knowledge = ui.aid().knowledge
    assessment, unknowns = consultation.assessment, consultation.unknowns
    tiles = []
    for option, result in assessment.options.items():
        badge = ui.verdict_badge(result.verdict, SUSPENDED if assessment.urgent_referral else None)
        word, reasons = key_reasons(result, knowledge)[0]  # the effect that decides the verdict
        more = f" and {len(reasons) - GLANCE_REASONS} more" if len(reasons) > GLANCE_REASONS else ""
        labels = ", ".join(label(r, knowledge, assessment.jurisdiction) for r in reasons[:GLANCE_REASONS])
        why = f"{word}: {labels}{more}"
        if option in unknowns and only_nothing_indicates(result, knowledge):
            why = f"{VERDICT_WORDS[result.verdict]} {SO_FAR}; {could_change(unknowns[option], most=GLANCE_REASONS)}"
        tiles.append(
            f"<div class='da-tile'><div class='da-tile-name'>{html.escape(OPTION_NAMES[option])}</div>{badge}"
            f"<div class='da-tile-why'>{html.escape(why)}</div></div>"
        )
    st.markdown(f"<div class='da-glance'>{''.join(tiles)}</div>", unsafe_allow_html=True)


def _option_cards(consultation: Consultation) -> None:
    ui.heading(3, "Each option: why, and what would change it")
    options = list(consultation.assessment.options.items())
    for start in range(0, len(options), 2):
        for column, (option, result) in zip(st.columns(2), options[start : start + 2], strict=False):
            with column, st.container(border=True):
                _card(
                    option,
                    result,
                    consultation.suggestions.get(option, []),
                    consultation.unknowns.get(option),
                    consultation.settles,
                )


def _card(option: str, result, suggestions, unknowns: list[Ask] | None = None, settles=None) -> None:
    badge = ui.verdict_badge(result.verdict)
    so_far = f"\n<p class='da-so-far'>{html.escape(_so_far(unknowns))}</p>" if unknowns else ""
    st.markdown(f"#### {html.escape(OPTION_NAMES[option])}\n{badge}{so_far}", unsafe_allow_html=True)
    shown, more = result.reasons[:SHOWN_REASONS], result.reasons[SHOWN_REASONS:]
    notes = result.notes if not more else []
    st.markdown(_reasons_html(shown, notes, bool(unknowns), settles), unsafe_allow_html=True)
    if more:
        with st.expander(f"{len(more)} more reason{'s' if len(more) > 1 else ''}"):
            st.markdown(_reasons_html(more, result.notes, bool(unknowns), settles), unsafe_allow_html=True)
    st.markdown(_changes_html(suggestions), unsafe_allow_html=True)
    _sources({c for r in result.reasons for c in r.evidence} | {c for n in result.notes for c in n.evidence})


def _sources(cited: set[str]) -> None:
    """Each citation id with its full reference, one click away."""
    if cited:
        citations = ui.aid().knowledge.citations
        with st.expander(f"Sources ({len(cited)})"):
            st.markdown("\n".join(f"- **{c}**: {_md(citations[c].reference)}" for c in sorted(cited)))


def _changes_html(suggestions) -> str:
    """What would change it: at most three single changes, or why there are none."""
    if suggestions:
        items = "".join(f"<li>{html.escape(s.text)}</li>" for s in suggestions)
        body = f"<ul>{items}</ul>"
    else:
        body = "<p class='da-cite'>No single change in these factors would move this verdict.</p>"
    return f"<div class='da-reasons da-changes'><p><strong>What would change it</strong></p>{body}</div>"


def _reasons_html(reasons, notes, so_far: bool = False, settles: dict[str, str] | None = None) -> str:
    """Each reason with its effect; with `so_far` (a missing answer could change the verdict),
    "nothing indicates it" is tagged "so far", not "against"; a caution resting on an unknown answer
    says which test would settle it (`settles`: rule id -> sentence)."""
    fallback = ui.aid().knowledge.fallback.spec.id
    parts = []
    for reason in reasons:
        colour, word = SO_FAR_TAG if so_far and reason.rule_id == fallback else EFFECT_TAGS[reason.effect]
        parts.append(
            f"<p><span style='color:{colour};font-weight:600'>{word}</span> · {html.escape(reason.explanation)}"
            f"{_cite_ids(reason.evidence)}{_settle_html(reason, settles)}</p>"
        )
    for note in notes:
        parts.append(f"<p class='da-cite'>Note: {html.escape(note.text)}{_cite_ids(note.evidence)}</p>")
    return f"<div class='da-reasons'>{''.join(parts)}</div>"


def _settle_html(reason, settles: dict[str, str] | None) -> str:
    """ " Flexion-extension radiographs would settle this." after a caution resting on an unknown answer."""
    sentence = (settles or {}).get(reason.rule_id) if reason.effect == "cautions" else None
    return f" <em class='da-settle'>{html.escape(sentence)}</em>" if sentence else ""


def _missing(assessment) -> None:
    """Which unknown values could change which verdicts."""
    with st.container(border=True):
        st.markdown("**Missing information**")
        if not assessment.missing_information:
            st.caption("Nothing that is unknown here could change a verdict.")
            return
        lines = [
            f"- **{_md(_asked(ask))}** could change: " + ", ".join(OPTION_NAMES[o].lower() for o in ask.options)
            for ask in by_test(assessment.missing_information)
        ]
        st.caption("Not known, and measuring it could change the verdict.")
        st.markdown("\n".join(lines))


def _so_far(asks: list[Ask]) -> str:
    """ "On what is known so far; it could change when the stenosis (MRI of the lumbar spine) is known."
    The form's words for each field, grouped by the test that obtains them (as in the clinic letter)."""
    return f"On what is known so far; {could_change(asks)}."


def _asked(ask: Ask) -> str:
    """ "Flexion-extension radiographs (translation, angulation)", or one field's label."""
    labels = [input_label(item.field) for item in ask.items]
    if ask.test is None:
        return labels[0]
    return f"{ask.test[:1].upper()}{ask.test[1:]} ({'; '.join(labels)})"


def _cite_ids(ids: list[str]) -> str:
    return f" <span class='da-cite'>[{html.escape(', '.join(ids))}]</span>" if ids else ""


def _md(text: str) -> str:
    """Plain text made safe for Markdown (no accidental emphasis, maths or links)."""
    return re.sub(r"([\\`*_{}\[\]<>$~|#])", r"\\\1", text)


ui.show_page(
    page,
    "Consultation",
    "Your answers are kept; please check them and press Assess again. "
    "If it happens again, tell the team that looks after this tool.",
)
