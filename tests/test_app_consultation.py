"""The Consultation page, driven through Streamlit's AppTest: form in, verdicts out, never a traceback."""

from __future__ import annotations

import html
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from streamlit.testing.v1 import AppTest

from decision_aid import assess, default_aid
from decision_aid.knowledge.fields import fields
from decision_aid.knowledge.labels import OPTION_NAMES, VERDICT_WORDS
from decision_aid.models import parse_factors
from decision_aid.views.form import NOT_KNOWN, QUESTIONS
from decision_aid.views.letter import clinic_letter
from decision_aid.views.patient_view import view_of
from tests.test_app_hostile import messages as load_messages

APP = str(Path(__file__).resolve().parent.parent / "app.py")
DATA = Path(__file__).resolve().parent.parent / "examples"

RED_FLAGS = ("cauda_equina_syndrome", "suspected_infection", "suspected_tumour", "suspected_fracture")
# What a clinician types for a 63-year-old with a grade I degenerative slip (films not taken); the
# red flags, the motor deficit and the weeks of care are asked explicitly.
FORM = {
    "age": 63,
    "back_pain": "yes",
    "leg_pain": "yes",
    "symptom_duration_weeks": 52,
    "conservative_care_weeks": 28,
    "motor_deficit": "none",
    **dict.fromkeys(RED_FLAGS, "no"),
    "levels": 1,
    "slip_grade": 1,
    "slip_type": "degenerative",
    "stenosis": "severe",
    "smoker": "no",
    "bone_density_t_score": -1.2,
}
PATIENT = {
    "age": 63,
    "back_pain": True,
    "leg_pain": True,
    "symptom_duration_weeks": 52,
    "conservative_care_weeks": 28,
    "levels": 1,
    "slip_grade": 1,
    "slip_type": "degenerative",
    "stenosis": "severe",
    "smoker": False,
    "bone_density_t_score": -1.2,
}


def start() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception
    return at


def fill(at: AppTest, answers: dict[str, Any]) -> None:
    for name, value in answers.items():
        key = f"factor_{name}"
        for kind in ("number_input", "selectbox", "radio"):
            widgets = [w for w in getattr(at, kind) if w.key == key]
            if widgets:
                widgets[0].set_value(value)
                break
        else:
            raise AssertionError(f"no input for {name}")


def submit(at: AppTest) -> AppTest:
    (button,) = [b for b in at.button if b.label == "Assess"]
    button.click().run()
    assert not at.exception, at.exception
    return at


def markdown(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown]


def cards(at: AppTest) -> list[str]:
    return [m for m in markdown(at) if any(m.startswith(f"#### {name}\n") for name in OPTION_NAMES.values())]


def card(at: AppTest, option: str) -> str:
    (text,) = [m for m in markdown(at) if m.startswith(f"#### {OPTION_NAMES[option]}\n")]
    return text


# Pages that tests only read (no click, no value set, no rerun) are run once for the module and
# shared; a test that changes the page starts its own.


@pytest.fixture(scope="module")
def first_visit() -> AppTest:
    """The page as first opened."""
    return start()


@pytest.fixture(scope="module")
def assessed() -> AppTest:
    """FORM filled in and assessed."""
    at = start()
    fill(at, FORM)
    return submit(at)


@pytest.fixture(scope="module")
def urgent() -> AppTest:
    """FORM with cauda equina syndrome, assessed."""
    at = start()
    fill(at, {**FORM, "cauda_equina_syndrome": "yes"})
    return submit(at)


@pytest.fixture(scope="module")
def stenosis_not_known() -> AppTest:
    """FORM with the stenosis not known, assessed."""
    at = start()
    fill(at, {**FORM, "stenosis": NOT_KNOWN})
    return submit(at)


def test_first_visit_asks_for_the_required_answers(first_visit: AppTest):
    at = first_visit
    assert any("Answer the required questions" in i.value for i in at.info)
    assert not cards(at)  # no cards before an assessment


def form_values(at: AppTest) -> dict[str, Any]:
    return {
        w.key.removeprefix("factor_"): w.value
        for kind in ("number_input", "selectbox", "radio")
        for w in getattr(at, kind)
        if w.key and w.key.startswith("factor_")
    }


def test_nothing_unasked_is_assumed(first_visit: AppTest):
    """Every nullable field starts not known; required and explicitly asked ones start empty; only a
    contract default that is a real answer (activity level, previous fusion) starts as the answer."""
    at = first_visit
    values = form_values(at)
    for name, spec in fields().items():
        if spec.nullable:
            assert values[name] in (None, NOT_KNOWN), name
    for name in ("bmi", "bone_density_t_score", "translation_mm", "odi"):
        assert values[name] is None
    for name in ("asa_grade", "stenosis", "disc_herniation", "index_level", "facet_arthropathy", "smoker"):
        assert values[name] == NOT_KNOWN
    for name in (*RED_FLAGS, "motor_deficit", "conservative_care_weeks"):
        assert values[name] is None, name  # asked explicitly: no answer until one is given
    for name in ("age", "symptom_duration_weeks", "levels", "slip_grade", "back_pain", "leg_pain"):
        assert values[name] is None  # required: nothing is assumed
    assert values["activity_level"] == "moderate" and values["prior_fusion"] == "none"
    assert at.selectbox(key="factor_prior_fusion").options == ["none", "solid", "pseudarthrosis", "hardware failure"]
    assert at.checkbox(key="no_red_flags").value is False


def test_assess_needs_the_red_flags_the_motor_deficit_and_the_weeks_of_care_answered():
    at = start()
    fill(at, {k: v for k, v in FORM.items() if k not in (*RED_FLAGS, "motor_deficit", "conservative_care_weeks")})
    submit(at)
    assert not cards(at)
    errors = [e.value for e in at.error]
    assert any("red-flag question" in e and "None of these" in e for e in errors), errors
    summary = next(e for e in errors if "need attention" in e)
    assert "Motor deficit" in summary and "Conservative care (weeks)" in summary
    for name in RED_FLAGS:
        assert QUESTIONS[name] in summary

    at.checkbox(key="no_red_flags").check().run()  # one explicit answer for all four
    assert all(form_values(at)[name] == "no" for name in RED_FLAGS)
    fill(at, {"motor_deficit": "none", "conservative_care_weeks": 0})  # 0 weeks is an answer
    at.run()
    assert not at.exception
    expected = assess({**PATIENT, "conservative_care_weeks": 0})
    for option, result in expected.options.items():
        assert VERDICT_WORDS[result.verdict] in card(at, option)

    next(r for r in at.radio if r.key == "factor_suspected_tumour").set_value("yes").run()
    assert at.checkbox(key="no_red_flags").value is False
    at.checkbox(key="no_red_flags").check().run()
    assert form_values(at)["suspected_tumour"] == "no"
    at.checkbox(key="no_red_flags").uncheck().run()  # cleared: the questions are unanswered again
    assert all(form_values(at)[name] is None for name in RED_FLAGS)
    assert not cards(at)


def test_slip_type_follows_the_grade():
    at = start()
    fill(at, {**FORM, "slip_grade": 0})
    at.run()
    box = at.selectbox(key="factor_slip_type")
    assert box.options == ["none", "isthmic"] and box.value == "none"  # no slip unless a pars defect
    submit(at)
    assert cards(at)
    at.selectbox(key="factor_slip_grade").set_value(2).run()
    box = at.selectbox(key="factor_slip_type")
    assert box.options == ["degenerative", "isthmic"] and box.value is None  # with a slip: the user chooses
    assert not cards(at)
    errors = [e.value for e in at.error]
    assert "With a slip (grade II), choose degenerative or isthmic." in errors, errors
    assert not any("'none'" in e or "slip_type" in e for e in errors)
    box.set_value("isthmic").run()
    assert cards(at)
    at.selectbox(key="factor_slip_grade").set_value(0).run()
    assert at.selectbox(key="factor_slip_type").value == "isthmic"  # a pars defect without a slip stays
    at.selectbox(key="factor_slip_type").set_value("none").run()
    at.selectbox(key="factor_slip_grade").set_value(1).run()
    at.selectbox(key="factor_slip_type").set_value("degenerative").run()
    at.selectbox(key="factor_slip_grade").set_value(0).run()
    assert at.selectbox(key="factor_slip_type").value == "none"  # degenerative needs a slip


def test_every_input_has_help_text(first_visit: AppTest):
    # in its group's one "Help: ..." expander (one tab stop a group), never a help icon on each input
    from app_pages.ui import md
    from decision_aid.views.form import help_text

    at = first_visit
    shown = " ".join(m.value for e in at.expander if e.label.startswith("Help: ") for m in e.markdown)
    for kind in ("number_input", "selectbox", "radio"):
        for widget in getattr(at, kind):
            if widget.key and widget.key.startswith("factor_"):
                assert not widget.help, widget.key
                assert md(help_text(widget.key.removeprefix("factor_"))) in shown, widget.key


def test_verdicts_at_a_glance_match_assess(assessed: AppTest):
    at = assessed
    (glance,) = [m for m in markdown(at) if "da-glance" in m]
    tiles = glance.split("class='da-tile'")[1:]
    for (option, result), tile in zip(assess(PATIENT).options.items(), tiles, strict=True):
        assert OPTION_NAMES[option] in tile and VERDICT_WORDS[result.verdict] in tile


def test_verdicts_shown_match_assess(assessed: AppTest):
    at = assessed
    expected = assess(PATIENT)
    for option, result in expected.options.items():
        text = card(at, option)
        assert VERDICT_WORDS[result.verdict] in text, (option, text)
        for other in set(VERDICT_WORDS) - {result.verdict}:
            assert VERDICT_WORDS[other] not in text
    assert at.session_state["patient"]["age"] == 63
    assert [t.label for t in at.tabs] == ["Options", "For the patient", "Clinic letter"]
    assert at.code[0].value == clinic_letter(expected, default_aid().knowledge, parse_factors(PATIENT))


def test_reasons_citations_and_what_would_change_it_are_shown():
    at = start()
    fill(at, {**FORM, "bone_density_t_score": -3.0})
    submit(at)
    expected = assess({**PATIENT, "bone_density_t_score": -3.0})
    assert expected.options["dynamic_stabilisation"].verdict == "not_advised"
    shown = "\n".join(markdown(at))
    assert "If the DEXA T-score were above -2.5, dynamic stabilisation would become" in shown
    for reason in expected.options["fusion"].reasons:
        for citation in reason.evidence:
            assert citation in shown
    assert any(e.label.startswith("Sources (") for e in at.expander)
    assert "Missing information" in shown


def test_plain_language_tab_uses_the_patient_explanations(assessed: AppTest):
    at = assessed
    shown = "\n".join(markdown(at))
    expected = assess(PATIENT)
    for result in expected.options.values():
        if result.verdict == "not_applicable":
            continue  # named as left out, not explained
        for reason in result.reasons:
            assert reason.patient_explanation.split(".")[0][:40].replace("(", "") in shown.replace("\\", "")
    left_out = [OPTION_NAMES[o] for o, r in expected.options.items() if r.verdict == "not_applicable"]
    assert left_out and any(all(name in c.value for name in left_out) for c in at.caption)


def patient_tab(at: AppTest) -> Any:
    (tab,) = [t for t in at.tabs if t.label == "For the patient"]
    return tab


def test_patient_tab_shows_the_decision_the_condition_and_the_option_grid(assessed: AppTest):
    view = view_of(default_aid().knowledge)
    factors = parse_factors(PATIENT)
    expected = assess(factors)
    comparison = view.comparison(expected, factors)
    at = assessed
    tab = patient_tab(at)
    text = "\n".join(m.value for m in tab.markdown).replace("\\", "")
    assert view.statements.decision.split(".")[0] in text
    for condition in view.conditions_for(expected, factors):
        assert condition.name in text
    (grid,) = [m.value for m in tab.markdown if "class='da-grid'" in m.value]
    assert "<div class='da-grid-wrap' tabindex='0' role='region' aria-label='" in grid  # scrolls by keyboard too
    header = grid.split("</thead>")[0]
    assert [o.name for o in comparison.options] == [name for name in OPTION_NAMES.values() if f"<th>{name}<" in header]
    for option in comparison.options:
        assert option.verdict_words in header
    for name in comparison.not_shown:
        assert name not in header
    for row in view.grid_rows(comparison):
        assert row.question.label in grid
        assert len(row.cells) == len(comparison.options)
    assert "Swedish Spinal Stenosis Study" in grid  # each figure names its study
    # What matters to you: one 1-5 control per value, none rated yet, and the statement that it changes nothing
    controls = {b.key: b for b in tab.get("button_group")}
    assert set(controls) == {f"value_{v.id}" for v in view.values.values}
    assert all(b.value is None for b in controls.values())
    assert view.values.statement.split(".")[0] in "\n".join(c.value for c in tab.caption)
    assert any(view.statements.safety_net.signs[0].split(",")[0] in e.value for e in tab.error)


def test_patient_tab_for_a_red_flag_shows_only_the_urgent_message_and_the_safety_net(urgent: AppTest):
    view = view_of(default_aid().knowledge)
    at = urgent
    tab = patient_tab(at)
    text = "\n".join(m.value for m in tab.markdown).replace("\\", "")
    urgent = view.statements.urgent
    assessment = assess({**PATIENT, "cauda_equina_syndrome": True})
    assert view.statements.headings.urgent in text
    (box,) = [m.value for m in tab.markdown if "class='da-urgent'" in m.value]
    for words in (urgent.box, urgent.happening, urgent.next_heading, urgent.worse_heading, urgent.worse):
        assert html.escape(words, quote=False) in box
    assert html.escape(view.urgent_next(assessment), quote=False) in box  # what happens next, in plain words
    for item in view.urgent(assessment):
        assert html.escape(item.explanation, quote=False) in box  # what is happening
    for alert in assessment.alerts:
        assert alert.message not in text and "4 hours" not in text  # the staff instruction is the banner's
        assert alert.message.split(";")[0] in "\n".join(e.value for e in at.error)
    assert "da-grid" not in text
    assert view.statements.headings.decision not in text and view.statements.headings.values not in text
    assert not tab.get("button_group")  # no values questions
    assert not tab.get("expander")
    (net,) = [e.value for e in tab.error]
    for sign in view.statements.safety_net.signs:
        assert sign.split(",")[0] in net


def deferred_downloads(monkeypatch: pytest.MonkeyPatch) -> dict[str, dict[str, Any]]:
    """The deferred downloads the page registers, by file name: mime type and the page's data callback."""
    from streamlit.runtime.media_file_manager import MediaFileManager

    registered: dict[str, dict[str, Any]] = {}
    original = MediaFileManager.add_deferred

    def record(self, data_callable, mimetype, coordinates, file_name=None, **kwargs):
        registered[file_name] = {"mimetype": mimetype, "callable": data_callable}
        return original(self, data_callable, mimetype, coordinates, file_name, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add_deferred", record)
    return registered


def test_the_handout_download_offers_a_pdf_with_the_patients_ratings(monkeypatch: pytest.MonkeyPatch):
    downloads = deferred_downloads(monkeypatch)
    at = start()
    fill(at, FORM)
    submit(at)
    (button,) = [d for d in at.get("download_button") if d.proto.label == "Patient handout (PDF)"]
    assert button.proto.deferred_file_id  # made only when pressed
    assert downloads["decision-aid-handout.pdf"]["mimetype"] == "application/pdf"
    unrated = downloads["decision-aid-handout.pdf"]["callable"]()
    assert unrated[:5] == b"%PDF-"

    at.button_group(key="value_keep_movement").set_value(5).run()
    at.button_group(key="value_quick_recovery").set_value(2).run()
    assert not at.exception
    assert at.session_state["patient_values"] == {"keep_movement": 5, "quick_recovery": 2}
    (grid,) = [m.value for m in patient_tab(at).markdown if "class='da-grid'" in m.value]
    assert "Keeping movement in my back: 5 of 5" in grid  # beside its row
    pdf = downloads["decision-aid-handout.pdf"]["callable"]()
    assert pdf[:5] == b"%PDF-"
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    text = " ".join(text.split())
    assert "Keeping movement in my back: 5 out of 5" in text
    assert "A quick recovery: 2 out of 5" in text
    for result in assess(PATIENT).options.values():  # the ratings change no verdict
        assert VERDICT_WORDS[result.verdict] in " ".join(cards(at))

    (button,) = [b for b in at.button if b.label == "New patient"]
    button.click().run()
    assert "patient_values" not in at.session_state  # a new patient starts unrated


def test_red_flag_banner_stops_the_elective_view(urgent: AppTest):
    at = urgent
    banner = "\n".join(e.value for e in at.error)
    assert "Urgent referral" in banner
    for alert in assess({**PATIENT, "cauda_equina_syndrome": True}).alerts:
        assert alert.message.split(";")[0] in banner
    assert "emergency decompression" in banner
    (glance,) = [m for m in markdown(at) if "da-glance" in m]
    assert glance.count("suspended: urgent referral") == len(OPTION_NAMES)
    for name in OPTION_NAMES.values():
        assert name in glance
    shown = "\n".join(markdown(at))
    assert "What would change it" not in shown and "Missing information" not in shown
    assert not cards(at)  # the elective cards are not shown


def test_after_assess_a_change_updates_the_verdicts_without_pressing_assess_again():
    """A red flag ticked after the first assessment must act at once, never leave stale verdicts."""
    at = start()
    fill(at, FORM)
    submit(at)
    assert "Urgent referral" not in "\n".join(e.value for e in at.error)
    next(r for r in at.radio if r.key == "factor_cauda_equina_syndrome").set_value("yes").run()
    assert not at.exception
    assert "Urgent referral" in "\n".join(e.value for e in at.error)
    assert not cards(at)


def test_an_out_of_range_number_is_named_with_its_allowed_range():
    at = start()
    fill(at, {**FORM, "age": 17})
    submit(at)
    assert not at.exception
    errors = [e.value for e in at.error]
    assert any("18 to 110" in e for e in errors), errors
    assert not cards(at)


def test_conservative_care_longer_than_symptoms_is_named_next_to_the_input():
    at = start()
    fill(at, {**FORM, "symptom_duration_weeks": 20, "conservative_care_weeks": 30})
    submit(at)
    assert not at.exception
    errors = [e.value for e in at.error]
    assert "Cannot be more than the symptom duration (20 weeks)." in errors, errors
    assert any("Conservative care" in w.value for w in at.warning)
    assert not cards(at)


def test_every_error_at_once_in_the_forms_words():
    """Range errors and cross-field errors together, each beside its field and all in one summary,
    with the allowed range in the form's units and grades as on the form."""
    at = start()
    fill(at, {**FORM, "age": 150, "symptom_duration_weeks": 20, "conservative_care_weeks": 30})
    fill(at, {"slip_grade": 0})
    at.run()
    fill(at, {"slip_type": "isthmic", "bmi": 95.0, "prior_fusion": "none", "adjacent_segment_disease": "yes"})
    submit(at)
    beside = [e.value for e in at.error]
    assert "Allowed: 18 to 110 years; 150 years is outside this range." in beside, beside
    assert "Allowed: 12 to 80; 95.0 is outside this range." in beside, beside
    assert "Cannot be more than the symptom duration (20 weeks)." in beside, beside
    assert any(e.startswith("Only after a previous fusion") for e in beside), beside
    (summary,) = [w.value for w in at.warning if "need attention" in w.value]
    for label in ("Age (years)", "BMI", "Conservative care (weeks)", "Adjacent segment disease"):
        assert label in summary, summary
    shown = "\n".join([*beside, summary])
    for code in ("Input should", "less than or equal", "symptom_duration_weeks", "prior_fusion", "got "):
        assert code not in shown, code
    assert not cards(at)


def test_a_grade_is_written_as_on_the_form_in_messages():
    at = start()
    fill(at, {**FORM, "slip_grade": 0, "slip_type": "none"})
    at.run()
    at.selectbox(key="factor_slip_grade").set_value(3)
    submit(at)
    errors = [e.value for e in at.error]
    assert "With a slip (grade III), choose degenerative or isthmic." in errors, errors
    assert not any(re.search(r"grade \d", e) for e in errors), errors


def test_missing_required_answers_are_named():
    at = start()
    fill(at, {k: v for k, v in FORM.items() if k not in ("age", "leg_pain")})
    submit(at)
    assert sum("Required" in e.value for e in at.error) == 2
    assert not at.exception


def test_an_unexpected_error_shows_a_calm_message(monkeypatch: pytest.MonkeyPatch):
    import decision_aid.views.consultation

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(decision_aid.views.consultation, "consult", broken)
    at = start()
    fill(at, FORM)
    submit(at)
    assert any("something went wrong" in e.value for e in at.error)
    assert not at.exception


def test_a_loaded_patient_is_assessed_and_fills_the_form():
    patient = json.loads((DATA / "isthmic-grade2.json").read_text())
    at = start()
    at.file_uploader(key="upload").upload("isthmic.json", json.dumps(patient).encode(), "application/json").run()
    assert not at.exception
    assert load_messages(at) == [("success", "Loaded isthmic.json.")]
    expected = assess(patient)
    for option, result in expected.options.items():
        assert VERDICT_WORDS[result.verdict] in card(at, option)
    assert at.number_input(key="factor_age").value == patient["age"]
    assert at.selectbox(key="factor_slip_type").value == patient["slip_type"]


def test_a_saved_consultation_loads_back():
    from decision_aid.views.consultation import consult

    record = consult(PATIENT).record_json().encode()
    at = start()
    at.file_uploader(key="upload").upload("consultation.json", record, "application/json").run()
    for option, result in assess(PATIENT).options.items():
        assert VERDICT_WORDS[result.verdict] in card(at, option)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"{not json", "not valid JSON"),
        (b'{"age": "sixty", "back_pain": true}', "Age"),
        (
            b'{"age": 60, "back_pain": true, "leg_pain": true, "symptom_duration_weeks": 10, '
            b'"levels": 1, "slip_grade": 0, "smokes": true}',
            "did you mean 'smoker'",
        ),
        (b"[1, 2]", "a patient must be a JSON object"),
    ],
)
def test_an_invalid_file_gives_a_clear_message(content: bytes, expected: str):
    at = start()
    at.file_uploader(key="upload").upload("bad.json", content, "application/json").run()
    assert not at.exception
    ((kind, message),) = load_messages(at)
    assert kind == "error" and message.startswith("Could not load bad.json: ") and expected in message, message


def upload(at: AppTest, name: str, content: bytes) -> AppTest:
    at.file_uploader(key="upload").upload(name, content, "application/json").run()
    assert not at.exception, at.exception
    return at


def grid(at: AppTest) -> str:
    (table,) = [m.value for m in patient_tab(at).markdown if "class='da-grid'" in m.value]
    return table


def pdf_text(downloads: dict[str, dict[str, Any]]) -> str:
    pdf = downloads["decision-aid-handout.pdf"]["callable"]()
    return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages).split())


FIRST = json.loads((DATA / "isthmic-grade2.json").read_text())
SECOND = json.loads((DATA / "grade1-degenerative-stenosis.json").read_text())


def test_a_second_patient_loaded_brings_nothing_of_the_first(monkeypatch: pytest.MonkeyPatch):
    """Loading a file replaces everything patient-specific at once: form, verdicts, ratings, handout."""
    downloads = deferred_downloads(monkeypatch)
    at = start()
    upload(at, "first.json", json.dumps(FIRST).encode())
    at.button_group(key="value_keep_movement").set_value(5).run()
    assert "Keeping movement in my back: 5 of 5" in grid(at)
    assert "Keeping movement in my back: 5 out of 5" in pdf_text(downloads)

    upload(at, "second.json", json.dumps(SECOND).encode())
    assert load_messages(at) == [("success", "Loaded second.json.")]
    assert not at.session_state["patient_values"]
    assert all(b.value is None for b in patient_tab(at).get("button_group"))
    assert "of 5" not in grid(at)
    assert "out of 5" not in pdf_text(downloads)
    for option, result in assess(SECOND).options.items():
        assert VERDICT_WORDS[result.verdict] in card(at, option)
    assert at.session_state["patient"]["age"] == SECOND["age"]
    assert at.number_input(key="factor_age").value == SECOND["age"]


def test_a_saved_consultation_loaded_over_a_rated_patient_starts_unrated():
    from decision_aid.views.consultation import consult

    at = start()
    fill(at, FORM)
    submit(at)
    at.button_group(key="value_quick_recovery").set_value(2).run()
    upload(at, "saved.json", consult(SECOND).record_json().encode())
    assert not at.session_state["patient_values"]
    assert "of 5" not in grid(at)


def test_a_failed_load_changes_nothing_and_says_so_outside_the_popover():
    at = start()
    upload(at, "first.json", json.dumps(FIRST).encode())
    assert at.session_state["load_popover"] is False  # closed after a load: its message is seen
    at.button_group(key="value_keep_movement").set_value(4).run()
    before = (form_values(at), cards(at), dict(at.session_state["patient_values"]))

    at.session_state["load_popover"] = True  # the user opens it again and gives a bad file
    upload(at, "bad.json", b'{"age": 200, "back_pain": true}')
    assert at.session_state["load_popover"] is False
    ((kind, message),) = load_messages(at)
    assert kind == "error" and message.startswith("Could not load bad.json: ")
    assert (form_values(at), cards(at), dict(at.session_state["patient_values"])) == before
    (marked,) = [w.value for w in at.warning if "not loaded" in w.value]
    assert "still those of the patient already on the form" in marked

    fill(at, {"odi": 50})  # the form moves on: the message about the file goes
    at.run()
    assert not load_messages(at) and not [w for w in at.warning if "not loaded" in w.value]


def test_while_the_form_is_invalid_no_earlier_verdict_is_shown():
    at = start()
    fill(at, FORM)
    submit(at)
    assert cards(at) and at.session_state["patient"]["age"] == 63
    fill(at, {"age": 150})
    at.run()
    assert not cards(at)
    assert not [m for m in markdown(at) if "da-glance" in m]
    assert not at.get("download_button") and not at.tabs
    assert "patient" not in at.session_state  # nor is it anyone's starting point
    fill(at, {"age": 64})
    at.run()
    assert cards(at) and at.session_state["patient"]["age"] == 64


def test_a_file_that_leaves_out_what_the_form_asks_gets_the_contracts_defaults():
    """A JSON file that omits conservative care means 0 weeks, as the contract says (and no red flag,
    no motor deficit): loading it fills those answers in."""
    patient = {k: v for k, v in PATIENT.items() if k != "conservative_care_weeks"}
    at = start()
    upload(at, "short.json", json.dumps(patient).encode())
    values = form_values(at)
    assert values["conservative_care_weeks"] == 0 and values["motor_deficit"] == "none"
    assert all(values[name] == "no" for name in RED_FLAGS)
    assert at.checkbox(key="no_red_flags").value is True
    for option, result in assess(patient).options.items():
        assert VERDICT_WORDS[result.verdict] in card(at, option)


def test_a_verdict_an_unknown_could_change_says_so_on_its_card(stenosis_not_known: AppTest):
    at = stenosis_not_known
    patient = {k: v for k, v in PATIENT.items() if k != "stenosis"}
    expected = assess(patient)
    changed_by = {o for item in expected.missing_information if item.field == "stenosis" for o in item.options}
    assert changed_by, "stenosis could change some verdict"
    for option, result in expected.options.items():
        text = card(at, option)
        assert VERDICT_WORDS[result.verdict] in text  # the verdict itself is the contract's
        could = [item for item in expected.missing_information if option in item.options]
        assert ("On what is known so far" in text) == bool(could), (option, text)
        if option in changed_by:
            assert re.search(r"could change when .*stenosis[a-z ]* \(MRI of the lumbar spine\)", text), text
    flexion = next(
        o
        for o in OPTION_NAMES
        if any(o in i.options for i in expected.missing_information if i.test == "flexion-extension radiographs")
    )
    both = re.search(r"(\w[\w -]*) and ([\w -]+) \(flexion-extension radiographs\)", card(at, flexion))
    assert both and {both[1].split("; ")[-1], both[2]} == {
        "translation on flexion-extension",
        "angulation on flexion-extension",
    }, card(at, flexion)  # both measurements, as one test


def test_new_patient_clears_the_form():
    at = start()
    fill(at, FORM)
    submit(at)
    (button,) = [b for b in at.button if b.label == "New patient"]
    button.click().run()
    assert at.number_input(key="factor_age").value is None
    assert not cards(at)


def test_the_patient_survives_a_visit_to_another_page():
    at = start()
    fill(at, FORM)
    submit(at)
    at.switch_page("app_pages/knowledge_base.py").run()
    assert not at.exception
    at.switch_page("app_pages/consultation.py").run()
    assert at.number_input(key="factor_age").value == 63
    assert card(at, "fusion")


def test_footer_names_the_knowledge_version(first_visit: AppTest):
    at = first_visit
    assert any("Knowledge version" in c.value and "does not replace" in c.value for c in at.caption)


def tiles(at: AppTest) -> dict[str, str]:
    """option -> its tile's "why" line, as shown (HTML unescaped)."""
    (glance,) = [m for m in markdown(at) if "da-glance" in m]
    found = re.findall(r"<div class='da-tile-name'>(.*?)</div>.*?<div class='da-tile-why'>(.*?)</div>", glance)
    names = {name: option for option, name in OPTION_NAMES.items()}
    return {names[html.unescape(name)]: html.unescape(why) for name, why in found}


def test_tiles_name_the_reasons_by_the_rules_labels(assessed: AppTest):
    knowledge = default_aid().knowledge
    at = assessed
    shown = tiles(at)
    assert set(shown) == set(OPTION_NAMES)
    assessment = assess(PATIENT)
    for option, why in shown.items():
        assert "-" not in why.replace("flexion-extension", "").replace("T-score below -1.0", ""), why  # no rule id
        assert not re.search(r"grade [0-9]", why), why  # grades as on the form
        deciding = [r for r in assessment.options[option].reasons if r.rule_id in knowledge.by_id]
        assert any(knowledge.by_id[r.rule_id].spec.label in why for r in deciding), (option, why)
    assert "grade I degenerative slip, stability not assessed" in shown["fusion"]
    assert "stability not assessed" not in shown["fusion"].replace("slip, stability not assessed", "")


def test_an_unknown_that_could_change_a_not_advised_is_not_shown_as_a_contraindication(
    stenosis_not_known: AppTest,
):
    """Issue 9, item 4: with stenosis not known, no red 'against: nothing indicates it' and no
    'Not advised for you'; the verdict itself stays the contract's."""
    view = view_of(default_aid().knowledge)
    at = stenosis_not_known
    patient = {k: v for k, v in PATIENT.items() if k != "stenosis"}
    expected = assess(patient)
    changed_by = {o for item in expected.missing_information if item.field == "stenosis" for o in item.options}
    assert {"decompression_alone", "dynamic_stabilisation", "fusion"} <= changed_by
    shown = tiles(at)
    (glance,) = [m for m in markdown(at) if "da-glance" in m]
    for option in changed_by:
        assert expected.options[option].verdict == "not_advised"
        assert shown[option].startswith("not advised on what is known so far; it could change when the "), shown
        assert "stenosis" in shown[option] and "nothing indicates it" not in shown[option]
        reasons = markdown(at)[markdown(at).index(card(at, option)) + 1]  # the card's reasons, under its heading
        assert "so far</span> · Nothing in these factors" in reasons
        assert "against</span> · Nothing in these factors" not in reasons
    assert glance.count(VERDICT_WORDS["not_advised"]) >= len(changed_by)  # the badges keep the verdict
    text = "\n".join(m.value for m in patient_tab(at).markdown).replace("\\", "")
    so_far = view.statements.so_far
    assert text.count(so_far.verdict_words["not_advised"]) >= len(changed_by)
    assert html.escape(so_far.nothing_yet, quote=False) in text
    assert "could change once we have an MRI scan of your lower back" in text
    for option in changed_by:
        (found,) = [m for m in text.split("<div class='da-found'>") if f"<strong>{OPTION_NAMES[option]}</strong>" in m]
        assert "Not advised for you" not in found
