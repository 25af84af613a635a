"""What the Consultation page shows, computed without Streamlit: consult(), the saved record, loading files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from decision_aid import InputError, assess, default_aid
from decision_aid.consultation import consult, load_patient
from decision_aid.form import GROUPS, NOT_KNOWN, QUESTIONS, REQUIRED, answers_to_factors, help_text
from decision_aid.letter import clinic_letter
from decision_aid.vocabulary import fields

DATA = Path(__file__).resolve().parent / "data"
EXAMPLES = sorted(DATA.glob("*.json"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_consult_matches_assess_and_the_letter(path: Path):
    patient = json.loads(path.read_text())
    result = consult(patient)
    assert result.assessment == assess(patient)
    assert result.letter == clinic_letter(result.assessment, default_aid().knowledge)
    assert set(result.suggestions) == set(result.assessment.options)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_a_saved_record_loads_back_to_the_same_patient(path: Path):
    result = consult(json.loads(path.read_text()))
    record = json.loads(result.record_json())
    assert record["knowledge_version"] == result.assessment.knowledge_version
    assert record["assessment"] == result.assessment.model_dump(mode="json")
    assert set(record["patient"]) == set(fields())  # every field saved; an unknown one as null
    assert load_patient(result.record_json()) == result.patient


def test_a_bare_patient_file_loads():
    text = (DATA / "isthmic-grade2.json").read_bytes()
    loaded = load_patient(text).model_dump()
    assert {k: loaded[k] for k in json.loads(text)} == json.loads(text)


@pytest.mark.parametrize(
    ("content", "field", "words"),
    [
        (b"{oops", "(file)", "not valid JSON"),
        (b"\xff\xfe", "(file)", "not UTF-8"),
        ('{"age": 60}'.encode("utf-16"), "(file)", "not UTF-8"),
        (
            b'{"age": 60, "cauda_equina_syndrome": true, "cauda_equina_syndrome": false}',
            "cauda_equina_syndrome",
            "repeated",
        ),
        (b'{"age": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "(file)", "nested too deeply"),
        (b'{"age": ' + b"7" * 5000 + b"}", "age", "out of range"),
        (b" " * 1_000_001, "(file)", "too large"),
        (b'"a string"', "(file)", "a patient must be a JSON object"),
        (b'{"age": "60"}', "age", "valid integer"),
        (b'{"age": 60, "smokes": true}', "smokes", "did you mean 'smoker'"),
    ],
)
def test_an_invalid_file_names_the_problem(content: bytes, field: str, words: str):
    with pytest.raises(InputError) as error:
        load_patient(content)
    assert any(p.field == field and words in p.message for p in error.value.problems), error.value.problems


def test_a_record_of_another_kind_is_read_as_a_patient_and_rejected():
    with pytest.raises(InputError) as error:
        load_patient(json.dumps({"patient": {"age": 60}, "note": "not ours"}))
    assert {p.field for p in error.value.problems} >= {"patient", "note"}


def test_consult_rejects_invalid_factors_naming_the_field():
    patient = json.loads((DATA / "grade1-degenerative-stenosis.json").read_text())
    with pytest.raises(InputError) as error:
        consult({**patient, "conservative_care_weeks": patient["symptom_duration_weeks"] + 1})
    assert [p.field for p in error.value.problems] == ["conservative_care_weeks"]


# ---- the form as data -------------------------------------------------------------


def test_every_field_is_on_the_form_once_with_help():
    on_form = [name for _, names in GROUPS for name in names]
    assert sorted(on_form) == sorted(fields())
    assert [title for title, _ in GROUPS] == [
        "Patient",
        "Symptoms and neurology",
        "Imaging",
        "Previous surgery",
        "Preferences",
    ]
    assert all(spec.help for spec in fields().values())
    red_flags = {"cauda_equina_syndrome", "suspected_infection", "suspected_tumour", "suspected_fracture"}
    assert set(QUESTIONS) == red_flags


def test_help_text_gives_range_unit_and_what_not_known_means():
    assert "Allowed: -7 to 4." in help_text("bone_density_t_score")
    assert "not known" in help_text("bone_density_t_score")
    assert "Allowed: 0 to 30 mm." in help_text("translation_mm")
    assert "Required." in help_text("age")
    assert "more than a quarter of the canal" in help_text("stenosis")


def test_answers_become_a_patient_with_json_types():
    answers = {name: None for name in fields()}
    answers.update(age=63.0, back_pain=True, leg_pain=False, symptom_duration_weeks=30, levels=1, slip_grade=0)
    answers.update(bmi=27, stenosis=NOT_KNOWN, smoker=None, conservative_care_weeks=0)
    patient, missing = answers_to_factors(answers)
    assert missing == []
    assert patient["age"] == 63 and isinstance(patient["age"], int)
    assert patient["bmi"] == 27.0 and isinstance(patient["bmi"], float)
    assert "stenosis" not in patient and "smoker" not in patient
    assert assess(patient)  # valid as it stands


def test_unanswered_required_fields_are_listed():
    patient, missing = answers_to_factors({"age": 50, "back_pain": True})
    assert missing == [name for name in REQUIRED if name not in ("age", "back_pain")]
