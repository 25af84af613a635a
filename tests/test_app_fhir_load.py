"""The Consultation page's "Load from a FHIR bundle", driven through Streamlit's AppTest: the record's
factors fill the form with their sources, the rest is left to answer, and a bad bundle changes nothing."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from streamlit.testing.v1 import AppTest

from decision_aid import assess
from decision_aid.knowledge.labels import VERDICT_WORDS
from decision_aid.records.fhir_import import import_bundle
from tests.fhir_support import FHIR_DATA
from tests.test_app_consultation import card, fill, start, submit
from tests.test_app_hostile import messages, state

RED_FLAGS = ("cauda_equina_syndrome", "suspected_infection", "suspected_tumour", "suspected_fracture")
REST = {  # what the clinician answers after loading red_flag.json
    "back_pain": "yes",
    "leg_pain": "yes",
    "symptom_duration_weeks": 30,
    "conservative_care_weeks": 20,
    "motor_deficit": "none",
    "suspected_infection": "no",
    "suspected_tumour": "no",
    "suspected_fracture": "no",
    "levels": 1,
    "slip_grade": 0,
}


def load_bundle(at: AppTest, name: str, content: bytes) -> AppTest:
    at.file_uploader(key="fhir_upload").upload(name, content, "application/json").run()
    assert not at.exception, at.exception
    return at


def data(name: str) -> bytes:
    return (FHIR_DATA / name).read_bytes()


def captions(at: AppTest) -> list[str]:
    return [c.value.replace("\\", "") for c in at.caption]  # as read: Markdown escapes removed


def widget(at: AppTest, name: str) -> Any:
    key = f"factor_{name}"
    return next(w for kind in ("number_input", "selectbox", "radio") for w in getattr(at, kind) if w.key == key)


def test_a_bundle_fills_the_form_with_each_source_and_leaves_the_rest_to_answer():
    at = load_bundle(start(), "record.json", data("red_flag.json"))
    ((kind, text),) = messages(at)
    assert kind == "success" and text.startswith("Loaded record.json: 3 answers from the record")
    record = import_bundle(data("red_flag.json"), as_of=dt.date.today())
    assert widget(at, "age").value == record.filled["age"]
    assert widget(at, "bmi").value == 28.4
    assert widget(at, "cauda_equina_syndrome").value == "yes"
    shown = captions(at)
    assert "from the record: Observation/bmi, LOINC 39156-5 Body mass index (BMI) [Ratio], 2026-10-02" in shown
    assert any(c.startswith("from the record: Condition/ces, SNOMED CT 192970008") for c in shown)
    assert any(c.startswith("from the record: Patient/example, birth date") for c in shown)
    # nothing the record does not say is answered: no red flag is pre-answered "no"
    for name in RED_FLAGS[1:]:
        assert widget(at, name).value is None
    assert widget(at, "motor_deficit").value is None and widget(at, "conservative_care_weeks").value is None
    assert not at.checkbox(key="no_red_flags").value
    assert not [m for m in at.markdown if m.value.startswith("#### ")]  # no verdicts before Assess


def test_after_the_answers_assess_gives_the_verdicts_of_the_same_factors_typed():
    at = load_bundle(start(), "record.json", data("no_codes.json"))
    answers = {**REST, "cauda_equina_syndrome": "no", "slip_grade": 1, "slip_type": "degenerative"}
    fill(at, answers)
    submit(at)
    record = import_bundle(data("no_codes.json"), as_of=dt.date.today())
    typed = {**record.filled, **{k: {"yes": True, "no": False}.get(v, v) for k, v in answers.items()}}
    for option, result in assess(typed).options.items():
        assert VERDICT_WORDS[result.verdict] in card(at, option)


def test_a_red_flag_from_the_record_gives_the_urgent_referral_once_the_rest_is_answered():
    at = load_bundle(start(), "record.json", data("red_flag.json"))
    fill(at, REST)
    submit(at)
    page = "\n".join([*(m.value for m in at.markdown), *(e.value for e in at.error), *(h.value for h in at.html)])
    assert "Emergency: send to the emergency department now" in page


def test_what_was_not_used_and_what_conflicts_are_listed():
    at = load_bundle(start(), "stale.json", data("stale_conflicting.json"))
    (expander,) = [e for e in at.expander if e.label.startswith("From the record")]
    text = "\n".join(m.value for m in expander.markdown).replace("\\", "")
    assert "1301 days old" in text and "status preliminary" in text and "verification status refuted" in text
    assert "**Conflicting** (not used; please answer)" in text and "31.2" in text and "33.9" in text
    assert "Still to answer before Assess:" in text and "BMI" in text
    assert widget(at, "bmi").value is None  # a conflict is never resolved for the clinician


def test_a_value_changed_after_the_load_says_so():
    at = load_bundle(start(), "record.json", data("red_flag.json"))
    fill(at, {"bmi": 30.0})
    at.run()
    assert any(c.startswith(":orange[changed here: from the record: Observation/bmi") for c in captions(at))


def test_an_invalid_bundle_says_why_and_leaves_the_session_unchanged():
    at = load_bundle(start(), "record.json", data("red_flag.json"))
    fill(at, {"back_pain": "yes"})
    at.run()
    before = state(at)
    bundle = json.loads(data("red_flag.json"))
    bundle["entry"][1]["fullUrl"] = 7
    load_bundle(at, "bad.json", json.dumps(bundle).encode())
    ((kind, text),) = messages(at)
    assert kind == "error" and text.startswith("Could not load bad.json: entry[1].fullUrl")
    assert text.endswith("The form is unchanged.")
    assert state(at) == before


def test_a_file_that_is_no_bundle_or_too_large_is_refused():
    at = load_bundle(
        start(), "patient.json", (FHIR_DATA.parent.parent.parent / "examples" / "cauda-equina.json").read_bytes()
    )
    ((kind, text),) = messages(at)
    assert kind == "error" and 'expected a FHIR Bundle (resourceType "Bundle"), got none' in text
    load_bundle(at, "big.json", b" " * 1_000_001)
    ((kind, text),) = messages(at)
    assert kind == "error" and "too large (1,000,001 bytes" in text
    load_bundle(at, "junk.json", b"\xff\xfe")
    ((kind, text),) = messages(at)
    assert kind == "error" and "not UTF-8" in text


def test_a_new_patient_forgets_the_record():
    at = load_bundle(start(), "record.json", data("red_flag.json"))
    (button,) = [b for b in at.button if b.label == "New patient"]
    button.click().run()
    assert not [c for c in captions(at) if c.startswith("from the record")]
    assert not [e for e in at.expander if e.label.startswith("From the record")]
    assert widget(at, "bmi").value is None


def test_the_same_bundle_sent_again_is_not_loaded_over_what_was_typed():
    at = load_bundle(start(), "record.json", data("red_flag.json"))
    file_id = at.session_state["fhir_upload"].file_id
    fill(at, {"back_pain": "yes", "bmi": 29.0})
    at.run()
    at.file_uploader(key="fhir_upload").clear()
    at.run()
    at.file_uploader(key="fhir_upload")._files = [(file_id, "record.json", data("red_flag.json"), "application/json")]
    at.run()
    assert not at.exception
    assert widget(at, "back_pain").value == "yes" and widget(at, "bmi").value == 29.0  # not reloaded


def test_a_late_rerun_from_before_the_load_does_not_undo_it():
    at = start()
    typed = {"age": 70, "bmi": 35.0, "cauda_equina_syndrome": "no"}
    fill(at, typed)
    at.run()
    load_bundle(at, "record.json", data("red_flag.json"))
    assert widget(at, "bmi").value == 28.4
    # the rerun that opened the popover, sent before the bundle went up, arrives after the load's
    fill(at, typed)
    at.file_uploader(key="fhir_upload").clear()
    at.run()
    assert not at.exception
    assert widget(at, "bmi").value == 28.4 and widget(at, "cauda_equina_syndrome").value == "yes"
