"""Numbers as people read them: rounded to each field's decimals in every view, never in
exponent form or as -0, and exact where rounding would carry a value over a threshold
the rules use. Saved records keep the exact input."""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pypdf import PdfReader

from decision_aid import assess, default_aid
from decision_aid.knowledge.fields import fields
from decision_aid.knowledge.labels import describe_condition, input_format, show_value
from decision_aid.models import parse_factors
from decision_aid.views.consultation import consult
from decision_aid.views.handout import build_handout
from decision_aid.views.letter import clinic_letter
from decision_aid.views.patient_view import view_of
from decision_aid.views.summary import summary
from decision_aid.views.teaching import reasoning

FIELD_DECIMALS = {n: s.decimals for n, s in fields().items() if s.decimals is not None}
DATA = Path(__file__).resolve().parent.parent / "examples"
BASE = json.loads((DATA / "grade1-degenerative-stenosis.json").read_text())
CREATED = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)

# What the adversarial run fed in: the smallest float, negative zero and float noise.
RAW = {"translation_mm": 5e-324, "scoliosis_cobb_deg": -0.0, "bmi": 79.99999999999999}
RAW_TEXTS = ("5e-324", "-0.0", "79.99999999999999", "79.999")
EXPONENT = re.compile(r"\d[eE][-+]?\d")
# -2.46 with float noise: rounded to one decimal it would read -2.5, on the other side
# of the rules' "T-score -2.5 or less" (osteoporosis), so it is shown as -2.46.
NEAR_THRESHOLD = {"bone_density_t_score": -2.4600000000000004, "ct_l1_hounsfield": 109.60000000000001}
PLAIN_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
AID = default_aid()
KNOWLEDGE = AID.knowledge


def handout_text(patient: dict) -> str:
    pdf = build_handout(patient, None, CREATED)
    return " ".join(" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf)).pages)


# ---- the one formatting function -------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "shown"),
    [
        ("bmi", 28.5, "28.5"),
        ("bmi", 79.99999999999999, "80.0"),
        ("bmi", 30.04, "30.0"),
        ("translation_mm", 5e-324, "0.0"),
        ("scoliosis_cobb_deg", -0.0, "0.0"),
        ("bone_density_t_score", -0.04, "0.0"),
        ("bone_density_t_score", -2.44, "-2.4"),
        ("angulation_deg", 6.0, "6.0"),
        ("ct_l1_hounsfield", 250.0, "250"),
        ("ct_l1_hounsfield", 180.4, "180"),
        ("age", 63, "63"),
        ("age", 63.0, "63"),
        ("slip_grade", 2, "II"),
        ("levels", 1, "1"),
        ("smoker", True, "yes"),
        ("slip_type", "degenerative", "degenerative"),
        ("odi", None, "not known"),
    ],
)
def test_each_value_is_shown_to_its_fields_decimals(field, value, shown):
    assert show_value(field, value) == shown


@pytest.mark.parametrize(
    ("field", "value", "shown"),
    [
        ("bone_density_t_score", -2.46, "-2.46"),  # not -2.5: the rules' "-2.5 or less"
        ("bone_density_t_score", -2.4600000000000004, "-2.46"),
        ("bone_density_t_score", -0.96, "-0.96"),  # not -1.0: "T-score below -1.0"
        ("bmi", 40.04000000000001, "40.04"),  # not 40.0: "BMI over 40"
        ("ct_l1_hounsfield", 109.6, "109.6"),  # not 110: "below 110 HU"
        ("translation_mm", 2.99999999, "2.99999999"),  # not 3.0: "3 mm or more"
        ("translation_mm", 3.0000000000000004, "3.0000000000000004"),
    ],
)
def test_exact_where_rounding_would_cross_a_threshold_of_the_rules(field, value, shown):
    assert show_value(field, value, KNOWLEDGE.thresholds) == shown  # a view passes the knowledge it uses
    assert show_value(field, value) == shown  # by default, the thresholds of the rules in rules/
    assert show_value(field, value, {}) == f"{value:.{FIELD_DECIMALS[field]}f}"  # no threshold: plain rounding


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_any_number_reads_plainly_and_on_its_own_side_of_every_threshold(data):
    field = data.draw(st.sampled_from(sorted(FIELD_DECIMALS)))
    spec = fields()[field]
    thresholds = [t for t in KNOWLEDGE.thresholds.get(field, ()) if not isinstance(t, str)]
    value = data.draw(
        st.one_of(
            st.floats(spec.minimum, spec.maximum, allow_nan=False),
            st.sampled_from(thresholds or [spec.minimum]).flatmap(
                lambda t: st.floats(max(spec.minimum, t - 0.1), min(spec.maximum, t + 0.1))
            ),
        )
    )
    text = show_value(field, value, KNOWLEDGE.thresholds)
    assert PLAIN_NUMBER.match(text), text
    assert not (float(text) == 0 and text.startswith("-")), text
    for t in thresholds:
        assert (float(text) > t) - (float(text) < t) == (value > t) - (value < t), (value, text, t)
    assert abs(float(text) - value) <= 0.5 * 10 ** -FIELD_DECIMALS[field] + 1e-9


def test_readable_conditions_write_thresholds_as_written_and_never_in_exponent_form():
    assert describe_condition("translation_mm >= 0.00001") == "translation (mm) is 0.00001 or more"
    assert describe_condition("bone_density_t_score <= -1.0") == "DEXA T-score is -1.0 or less"
    assert describe_condition("translation_mm >= 3") == "translation (mm) is 3 or more"


def test_the_forms_number_inputs_show_as_many_decimals_as_the_value_needs():
    assert input_format("bone_density_t_score", -2.46) == "%.2f"
    assert input_format("bone_density_t_score", -2.44) == "%.1f"
    assert input_format("ct_l1_hounsfield", 250.0) == "%.1f"
    assert input_format("bmi", None) == "%.1f"


# ---- every view ----------------------------------------------------------------------------


def test_the_handout_shows_no_raw_float():
    text = handout_text({**BASE, **RAW})
    for raw in RAW_TEXTS:
        assert raw not in text
    assert not EXPONENT.search(text)
    labels = view_of(KNOWLEDGE).factor_labels
    assert f"{labels['translation_mm']}: 0.0" in text
    assert f"{labels['scoliosis_cobb_deg']}: 0.0" in text
    assert f"{labels['bmi']}: 80.0" in text


@pytest.mark.parametrize(
    ("field", "value", "shown", "rule_id"),
    [
        ("bone_density_t_score", -2.4600000000000004, "-2.46", "dynamic.osteopenia"),  # -2.5 would be osteoporosis
        ("ct_l1_hounsfield", 109.60000000000001, "109.6", "fusion.osteoporosis"),  # 110 would not be
    ],
)
def test_the_handout_shows_the_exact_value_beside_a_threshold(field, value, shown, rule_id):
    patient = {**BASE, field: value}
    text = handout_text(patient)
    assert f"{view_of(KNOWLEDGE).factor_labels[field]}: {shown} " in text
    assert repr(value) not in text
    reasons = {r.rule_id: r for result in assess(patient).options.values() for r in result.reasons}
    assert " ".join(reasons[rule_id].patient_explanation.split()) in text  # the reason beside the value


def test_the_letter_and_text_summary_show_no_raw_float():
    for patient in ({**BASE, **RAW}, {**BASE, **NEAR_THRESHOLD}):
        assessment = assess(patient)
        for text in (clinic_letter(assessment, KNOWLEDGE), summary(assessment)):
            for raw in (*RAW_TEXTS, "-2.4600000000000004", "109.60000000000001"):
                assert raw not in text, (raw, text)
            assert not EXPONENT.search(text)


def test_the_teaching_facts_show_rounded_values():
    explained = AID.explain({**BASE, **RAW, **NEAR_THRESHOLD})
    facts = {f.field: f.value for f in reasoning(explained, KNOWLEDGE).facts}
    assert facts["translation_mm"] == "0.0"
    assert facts["scoliosis_cobb_deg"] == "0.0"
    assert facts["bmi"] == "80.0"
    assert facts["bone_density_t_score"] == "-2.46"


def test_the_saved_record_keeps_the_exact_input():
    record = json.loads(consult({**BASE, **RAW, **NEAR_THRESHOLD}).record_json())
    for field, value in {**RAW, **NEAR_THRESHOLD}.items():
        assert record["patient"][field] == value
    assert str(record["patient"]["scoliosis_cobb_deg"]) == "-0.0"


# ---- the slip grade as on the form -----------------------------------------------------------

ARABIC_SLIP_GRADE = re.compile(r"(?<!Pfirrmann )(?<!ASA )\b[Gg]rade [1-5]\b")


@pytest.mark.parametrize("grade", [1, 2])
def test_a_slip_grade_is_written_as_on_the_form_in_every_human_readable_view(grade):
    """Roman numerals, as the form writes them, in the letter, the CLI's text summary, the handout,
    the patient view and teaching; JSON and the schema keep the contract's integers."""
    patient = {**BASE, "slip_grade": grade}
    explained = AID.explain(patient)
    assessment = explained.assessment
    view = view_of(KNOWLEDGE)
    factors = parse_factors(patient)
    comparison = view.comparison(assessment, factors)
    patient_texts = [r.text for o in comparison.options for r in (*o.reasons, *o.notes)]
    patient_texts += [s.population for s in view.studies_used(comparison).values()]
    patient_texts += [part for row in view.grid_rows(comparison) for cells in row.cells for part in cells]
    patient_texts += [c.text for c in view.conditions_for(assessment, factors)]
    lesson = reasoning(explained, KNOWLEDGE)
    teaching = [f.value for f in lesson.facts if f.field == "slip_grade"]
    teaching += [f"{step.condition} {step.explanation}" for step in lesson.rules]
    teaching += [f"{step.because} {step.explanation}" for step in lesson.findings]
    views = {
        "letter": clinic_letter(assessment, KNOWLEDGE),
        "text summary": summary(assessment),
        "handout": handout_text(patient),
        "patient view": "\n".join(patient_texts),
        "teaching": "\n".join(teaching),
    }
    roman = "I" * grade
    for name, text in views.items():
        assert not ARABIC_SLIP_GRADE.search(text), (name, ARABIC_SLIP_GRADE.search(text))
    assert f"grade {roman}" in views["letter"], views["letter"]
    assert f"{view.factor_labels['slip_grade']}: {roman} " in views["handout"]
    assert [f.value for f in lesson.facts if f.field == "slip_grade"] == [roman]
    assert json.loads(consult(patient).record_json())["patient"]["slip_grade"] == grade  # the contract's integer
