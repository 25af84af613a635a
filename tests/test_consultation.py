"""What the Consultation page shows, computed without Streamlit: consult(), the saved record, loading files."""

from __future__ import annotations

import itertools
import json
import re
import shutil
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from decision_aid import InputError, assess, default_aid
from decision_aid.errors import KnowledgeError
from decision_aid.knowledge.fields import fields, load_fields
from decision_aid.knowledge.files import rules_dir
from decision_aid.models import PatientFactors
from decision_aid.views.consultation import consult, load_patient
from decision_aid.views.form import (
    ASKED,
    GROUPS,
    NOT_KNOWN,
    QUESTIONS,
    REQUIRED,
    answers_to_factors,
    choices,
    default_answer,
    help_text,
    read_answers,
)
from decision_aid.views.letter import clinic_letter
from tests.conftest import variant

DATA = Path(__file__).resolve().parent.parent / "examples"
EXAMPLES = sorted(DATA.glob("*.json"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_consult_matches_assess_and_the_letter(path: Path):
    patient = json.loads(path.read_text())
    result = consult(patient)
    assert result.assessment == assess(patient)
    assert result.letter == clinic_letter(result.assessment, default_aid().knowledge, result.patient)
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
    answers.update(bmi=27, stenosis=NOT_KNOWN, smoker=None, conservative_care_weeks=0, motor_deficit="none")
    answers.update(dict.fromkeys(QUESTIONS, False))
    patient, missing = answers_to_factors(answers)
    assert missing == []
    assert patient["age"] == 63 and isinstance(patient["age"], int)
    assert patient["bmi"] == 27.0 and isinstance(patient["bmi"], float)
    assert "stenosis" not in patient and "smoker" not in patient
    assert assess(patient)  # valid as it stands


def test_unanswered_required_fields_are_listed():
    patient, missing = answers_to_factors({"age": 50, "back_pain": True})
    assert set(missing) == set(REQUIRED + ASKED) - {"age", "back_pain"}


def test_the_form_starts_honest():
    """Not known for a nullable field; empty for a required or explicitly asked one; the contract's
    default only where it is a real answer nobody needs to be asked for."""
    starts = {name: default_answer(spec) for name, spec in fields().items()}
    assert set(ASKED) == {*QUESTIONS, "motor_deficit", "conservative_care_weeks"}
    for name, spec in fields().items():
        if spec.nullable or name in REQUIRED or name in ASKED:
            assert starts[name] is None, name
    assert starts["activity_level"] == "moderate" and starts["prior_fusion"] == "none"
    assert "a patient file that leaves it out means 0 weeks" in help_text("conservative_care_weeks")
    assert "Starts at 'moderate'" in help_text("activity_level")


def test_a_file_that_omits_the_asked_fields_means_the_contracts_defaults():
    patient = {k: v for k, v in variant("minimal").items() if k not in ASKED}
    loaded = load_patient(json.dumps(patient)).model_dump()
    assert loaded["conservative_care_weeks"] == 0 and loaded["motor_deficit"] == "none"
    assert not any(loaded[name] for name in QUESTIONS)


def answered(**changes: object) -> dict:
    """The base patient as the form holds it once every question has been asked."""
    return {**variant("stenosis"), "motor_deficit": "none", **dict.fromkeys(QUESTIONS, False), **changes}


def test_every_problem_is_found_at_once_in_the_forms_words():
    answers = {**answered(), "age": 150, "bmi": 95.0, "symptom_duration_weeks": 20}
    answers.update(conservative_care_weeks=30, adjacent_segment_disease=True, months_since_fusion=12)
    answers.update(suspected_tumour=None, motor_deficit=None)
    problems = read_answers(answers).problems
    assert problems == {
        "age": "Allowed: 18 to 110 years; 150 years is outside this range.",
        "bmi": "Allowed: 12 to 80; 95.0 is outside this range.",
        "conservative_care_weeks": "Cannot be more than the symptom duration (20 weeks).",
        "motor_deficit": "Required: please answer this.",
        "suspected_tumour": "Please answer yes or no (or tick “None of these” if none is present).",
        "months_since_fusion": "Only after a previous fusion; leave it empty, or answer 'Previous fusion' first.",
        "adjacent_segment_disease": "Only after a previous fusion; answer 'Previous fusion' first.",
    }
    assert list(problems) == [n for _, names in GROUPS for n in names if n in problems]  # in the form's order


def test_a_cross_field_check_waits_for_what_is_unanswered_or_invalid():
    answers = answered(conservative_care_weeks=30)
    assert "conservative_care_weeks" not in read_answers({**answers, "symptom_duration_weeks": None}).problems
    assert "conservative_care_weeks" not in read_answers({**answers, "symptom_duration_weeks": 9999}).problems
    assert "slip_type" not in read_answers({**answers, "slip_grade": None, "slip_type": "degenerative"}).problems


# Values that the contract's cross-field checks read, tried in every combination per grid.
CROSS_FIELD_GRIDS = {
    "slip and care": {
        "slip_grade": range(6),
        "slip_type": ("none", "degenerative", "isthmic", None),
        "conservative_care_weeks": (0, 30, 31),
        "symptom_duration_weeks": (30,),
    },
    "previous fusion": {
        "prior_fusion": ("none", "solid", "pseudarthrosis"),
        "adjacent_segment_disease": (False, True),
        "months_since_fusion": (None, 12),
    },
    "leg pain": {
        "leg_pain": (False, True),
        "leg_symptom_pattern": (None, "radicular"),
        "flexion_relief": (None, True),
    },
    "previous operation": {
        "prior_decompression": (False, True),
        "prior_index_surgery": (None, "none", "discectomy"),
        "disc_herniation": ("none", "recurrent"),
        "prior_motion_implant": ("none", "disc_replacement"),
        "motion_implant_state": (None, "working"),
    },
    "slip details": {
        "slip_grade": (0, 1, 2),
        "slip_type": ("none", "degenerative", "isthmic"),
        "slip_direction": (None, "antero", "retro"),
        "slip_levels": (None, 1, 3),
        "levels": (2,),
    },
}


@pytest.mark.parametrize("grid", CROSS_FIELD_GRIDS.values(), ids=CROSS_FIELD_GRIDS.keys())
def test_the_forms_words_name_exactly_the_contracts_cross_field_problems(grid: dict):
    """The contract's checks run on the form's answers: a problem wherever the model names one, none
    elsewhere, and each in declared words (the grade as on the form)."""
    for values in itertools.product(*grid.values()):
        answers = answered(**dict(zip(grid, values, strict=True)))
        reading = read_answers(answers)
        try:
            PatientFactors.model_validate(reading.patient)
            expected = set()
        except ValidationError as error:
            expected = {str(e["loc"][0]) for e in error.errors() if e["type"] == "cross_field"}
        assert set(reading.problems) == expected, answers
        for name, message in reading.problems.items():
            assert "_" not in message and not re.search(r"grade \d", message), message
            assert any(message.startswith(c.say.split("{")[0]) for c in fields()[name].cross_field), message


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"slip_grade": 0, "slip_type": "none", "slip_direction": "retro"}, "slip_direction", "Only with a slip"),
        ({"slip_grade": 2, "slip_type": "isthmic", "slip_direction": "retro"}, "slip_direction", "A backward slip"),
        (
            {"slip_grade": 1, "slip_type": "isthmic", "slip_levels": 3, "levels": 2},
            "slip_levels",
            "symptomatic levels (2)",
        ),
        ({"prior_decompression": True, "prior_index_surgery": "none"}, "prior_index_surgery", "previous decompression"),
        ({"disc_herniation": "recurrent", "prior_index_surgery": "none"}, "prior_index_surgery", "recurrent disc"),
        ({"prior_index_surgery": "laminectomy"}, "prior_index_surgery", "Needs a previous decompression"),
    ],
)
def test_each_cross_field_problem_gets_its_own_words(changes: dict, field: str, words: str):
    assert words in read_answers(answered(**changes)).problems[field]


def test_the_slip_type_follows_the_grade():
    answers = answered()
    assert choices("slip_type", {**answers, "slip_grade": 0}) == ("none", "isthmic")
    for grade in range(1, 6):
        assert choices("slip_type", {**answers, "slip_grade": grade}) == ("degenerative", "isthmic")
    assert choices("slip_type", {**answers, "slip_grade": None}) == ("none", "degenerative", "isthmic")
    reading = read_answers({**answers, "slip_grade": 2, "slip_type": None})
    assert reading.problems == {"slip_type": "With a slip (grade II), choose degenerative or isthmic."}
    assert read_answers({**answers, "slip_grade": 0, "slip_type": None}).ok  # no slip: none, the contract's default


@pytest.mark.parametrize(
    ("field", "entry", "words"),
    [
        ("bmi", {"asked": "explicitly"}, "only a field with a contract default is asked explicitly"),
        ("age", {"asked": "explicitly"}, "only a field with a contract default is asked explicitly"),
        ("slip_type", {"cross_field": [{"when": "slip_type = 1", "say": "x"}]}, "cannot parse"),
        ("slip_type", {"cross_field": [{"when": "slip_kind == 'none'", "say": "x"}]}, "slip_kind"),
        ("slip_type", {"cross_field": [{"say": "grade {slip_grad}"}]}, "names no input field 'slip_grad'"),
    ],
)
def test_a_wrong_form_declaration_is_named(tmp_path: Path, field: str, entry: dict, words: str):
    target = tmp_path / "rules"
    shutil.copytree(rules_dir(), target)
    path = target / "fields.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["fields"][field].update(entry)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    with pytest.raises(KnowledgeError) as caught:
        load_fields(target)
    found = [str(p) for p in caught.value.problems]
    assert any(f"fields.yaml: {field}:" in p and words in p for p in found), found
