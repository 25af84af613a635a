"""The condition language: whitelist parsing, DNF, engine-equivalent and three-valued evaluation."""

import pytest

from decision_aid.knowledge import conditions as cond
from decision_aid.knowledge.labels import describe_condition
from decision_aid.knowledge.reading import holds, undecided_fields


@pytest.mark.parametrize(
    "text",
    ["not leg_pain", "age != 60", "__import__('os')", "age + 1 > 3", "x is maybe", "stenosis in 'mild'", "age > y"],
)
def test_anything_outside_the_whitelist_is_rejected(text):
    with pytest.raises(cond.ConditionSyntaxError):
        cond.parse(text)


def test_dnf_gives_one_conjunct_per_way_the_condition_can_hold():
    expr = cond.parse("(a >= 3 or b >= 10) and c == 1")
    assert len(cond.dnf(expr)) == 2
    assert all(cond.Compare("c", "==", 1) in conjunct for conjunct in cond.dnf(expr))


@pytest.mark.parametrize(
    "values, expected",
    [
        ({"translation_mm": 3.0}, True),  # ">= 3" includes 3.0
        ({"translation_mm": 2.9}, False),
        ({}, False),  # a comparison on an unknown value never matches
    ],
)
def test_holds_reads_thresholds_as_written_and_unknown_as_no_match(values, expected):
    assert holds(cond.parse("translation_mm >= 3"), values, {}) is expected


def test_unknown_must_be_written_out():
    expr = cond.parse("bmi is unknown")
    assert holds(expr, {}, {}) and not holds(expr, {"bmi": 30}, {})


def test_findings_and_tags_are_read_from_states():
    expr = cond.parse("nerve_compression is present and coflex_unsuitable is present")
    assert holds(expr, {}, {"nerve_compression": "present", "coflex_unsuitable": "present"})
    assert not holds(expr, {}, {"nerve_compression": "unknown", "coflex_unsuitable": "present"})


def test_undecided_fields_are_the_nulls_that_could_decide_the_condition():
    expr = cond.parse("bmi > 40 or age > 65")
    assert undecided_fields(expr, {"age": 50}, {}) == {"bmi"}
    assert undecided_fields(expr, {"age": 70}, {}) == set()  # already true
    assert undecided_fields(cond.parse("bmi > 40 and age > 65"), {"age": 50}, {}) == set()  # already false


def test_conditions_read_as_text():
    assert describe_condition("slip_grade >= 2") == "slip grade is II or more"
    assert describe_condition("stenosis in ('moderate', 'severe')") == "stenosis is moderate or severe"
    assert (
        describe_condition("scoliosis_cobb_deg > 10 and bmi is unknown")
        == "Cobb angle (°) is over 10 and BMI is not known"
    )
