"""Explore: sweeps of one or two factors, and two scenarios compared."""

import json
from pathlib import Path

import pytest

from decision_aid import InputError, default_aid
from decision_aid.engine import explore
from decision_aid.engine.verdicts import VERDICT_RANK
from decision_aid.knowledge.fields import fields
from decision_aid.models import OPTIONS, parse_factors

BASE = json.loads(
    (Path(__file__).resolve().parent.parent / "examples" / "grade1-degenerative-stenosis.json").read_text()
)
AID = default_aid()  # the page passes its DecisionAid (and its knowledge) to everything it asks
KNOWLEDGE = AID.knowledge


def verdicts_for(values: dict) -> dict[str, str]:
    return AID.verdicts(parse_factors({**BASE, **values}).known_values())


def test_numeric_values_include_every_threshold_and_its_neighbours_within_range():
    values = explore.sweep_values("translation_mm", KNOWLEDGE, 0, 10, points=5)
    for threshold in explore.thresholds("translation_mm", KNOWLEDGE):
        assert {round(threshold - 0.1, 1), threshold, round(threshold + 0.1, 1)} <= set(values)
    assert values == sorted(values) and values[0] == 0 and values[-1] == 10
    assert all(isinstance(v, float) for v in values)


def test_integer_values_are_integers_and_stay_in_range():
    values = explore.sweep_values("age", KNOWLEDGE, 50, 70, points=3)
    assert all(isinstance(v, int) for v in values)
    assert min(values) == 50 and max(values) == 70
    assert {59, 60, 61, 64, 65, 66} <= set(values)  # 60 and 65: the age thresholds in rules/


def test_choice_values_are_every_allowed_value_then_not_known():
    assert explore.sweep_values("stenosis", KNOWLEDGE) == ["none", "mild", "moderate", "severe", None]
    assert explore.sweep_values("stenosis", KNOWLEDGE, include_unknown=False) == ["none", "mild", "moderate", "severe"]
    assert explore.sweep_values("leg_pain", KNOWLEDGE) == [False, True]  # never unknown


def test_default_range_holds_the_thresholds_within_the_field_limits():
    for name, spec in fields().items():
        if not explore.is_numeric(name):
            continue
        low, high = explore.default_range(name, KNOWLEDGE)
        assert spec.minimum <= low < high <= spec.maximum, name
        assert all(low <= t <= high for t in explore.thresholds(name, KNOWLEDGE)), name


def test_each_point_of_a_sweep_is_one_engine_pass_on_that_patient():
    values = explore.sweep_values("translation_mm", KNOWLEDGE, 0, 8, points=9)
    result = explore.sweep(BASE, {"translation_mm": values}, AID)
    assert result.fields == ("translation_mm",)
    assert result.thresholds == {"translation_mm": tuple(explore.thresholds("translation_mm", KNOWLEDGE))}
    assert len(result.rows) == len(values) * len(OPTIONS)
    for value in (0.0, 2.9, 3.0, 4.6, 8.0):
        assert result.verdicts_at(translation_mm=value) == verdicts_for({"translation_mm": value})


def test_verdicts_change_only_at_a_threshold_the_rules_use():
    result = explore.sweep(
        BASE, {"translation_mm": explore.sweep_values("translation_mm", KNOWLEDGE, 0, 10, points=11)}, AID
    )
    thresholds = explore.thresholds("translation_mm", KNOWLEDGE)
    changes = 0
    for option, stretches in result.runs().items():
        for (_, last, before), (first, _, after) in zip(stretches, stretches[1:], strict=False):
            assert before != after
            assert verdicts_for({"translation_mm": last})[option] == before
            assert verdicts_for({"translation_mm": first})[option] == after
            assert any(last < t <= first or last <= t < first for t in thresholds), (option, last, first)
            changes += 1
    assert changes > 0  # e.g. dynamic instability from 3 mm


def test_invalid_points_are_skipped_and_named_never_assessed():
    # BASE has 28 weeks of conservative care: fewer weeks of symptoms break the cross-field rule.
    result = explore.sweep(BASE, {"symptom_duration_weeks": [10, 27, 28, 52]}, AID)
    assert [p.values for p in result.skipped] == [{"symptom_duration_weeks": 10}, {"symptom_duration_weeks": 27}]
    assert {p.field for s in result.skipped for p in s.problems} == {"conservative_care_weeks"}
    assert {r["symptom_duration_weeks"] for r in result.rows} == {28, 52}


def test_a_skipped_point_ends_every_stretch():
    result = explore.sweep(BASE, {"conservative_care_weeks": [20, 30, 60, 40]}, AID)  # 60 > 52 weeks of symptoms
    assert [p.values for p in result.skipped] == [{"conservative_care_weeks": 60}]
    for stretches in result.runs().values():
        assert all(not (first <= 60 <= last) for first, last, _ in stretches)
        assert stretches[-1][:2] == (40, 40)


def test_two_factor_sweep_covers_every_valid_combination():
    grades = [0, 1, 2, 3]
    stenosis = explore.sweep_values("stenosis", KNOWLEDGE)
    result = explore.sweep(BASE, {"slip_grade": grades, "stenosis": stenosis}, AID)
    # grade 0 with a degenerative slip type is invalid: four skipped points, one per stenosis value
    assert len(result.skipped) == len(stenosis)
    assert all(s.problems[0].field == "slip_type" for s in result.skipped)
    assert len(result.rows) == 3 * len(stenosis) * len(OPTIONS)
    assert result.verdicts_at(slip_grade=2, stenosis=None) == verdicts_for({"slip_grade": 2, "stenosis": None})
    with pytest.raises(ValueError):
        result.runs()


def test_sweep_refuses_an_invalid_base_unknown_fields_and_too_many_points():
    with pytest.raises(InputError):
        explore.sweep({**BASE, "conservative_care_weeks": 999}, {"age": [50]}, AID)
    with pytest.raises(ValueError):
        explore.sweep(BASE, {"no_such_field": [1]}, AID)
    with pytest.raises(ValueError):
        explore.sweep(BASE, {"age": list(range(18, 111)), "odi": list(range(0, 101))}, AID)
    with pytest.raises(ValueError):
        explore.sweep(BASE, {}, AID)


def test_compare_names_the_differences_and_each_option_in_both_scenarios():
    b = {**BASE, "smoker": True, "translation_mm": 4.0}
    result = explore.compare(BASE, b, AID)
    assert [(d.field, d.a, d.b) for d in result.differences] == [("smoker", False, True), ("translation_mm", 2.5, 4.0)]
    for o in result.options:
        assert o.verdict_a == AID.assess(BASE).options[o.option].verdict
        assert o.verdict_b == AID.assess(b).options[o.option].verdict
    dynamic = next(o for o in result.options if o.option == "dynamic_stabilisation")
    assert ("cautions", "dynamic.smoking") in [(r.effect, r.rule_id) for r in dynamic.only_b]
    decompression = next(o for o in result.options if o.option == "decompression_alone")
    assert decompression.change == "worse"
    assert ("cautions", "decompression.dynamic-instability") in [(r.effect, r.rule_id) for r in decompression.only_b]
    for o in result.options:  # each reason carries its explanation, as the assessment gives it
        for reason in (*o.only_a, *o.only_b):
            assert reason.explanation == AID.knowledge.by_id[reason.rule_id].spec.explanation
    assert decompression in result.changed


def test_compare_direction_follows_the_verdict_order():
    same = explore.compare(BASE, BASE, AID)
    assert not same.differences and not same.changed
    assert all(o.change == "same" and not o.only_a and not o.only_b for o in same.options)
    urgent = explore.compare(BASE, {**BASE, "cauda_equina_syndrome": True}, AID)
    assert urgent.urgent_b and not urgent.urgent_a
    for o in urgent.options:
        expected = (
            "same"
            if o.verdict_a == "not_applicable"
            else ("different" if VERDICT_RANK[o.verdict_a] == VERDICT_RANK["not_applicable"] else "worse")
        )
        assert o.change == expected, o


def test_compare_raises_an_input_error_naming_the_field():
    with pytest.raises(InputError) as error:
        explore.compare(BASE, {**BASE, "slip_type": "none"}, AID)
    assert [p.field for p in error.value.problems] == ["slip_type"]


def test_summary_says_who_the_patient_is_in_a_few_words():
    assert explore.summary(BASE, KNOWLEDGE) == (
        "age 63, back and leg pain for 52 weeks (28 of structured care), 1 symptomatic level, "
        "grade I degenerative slip, severe stenosis"
    )
    urgent = {**BASE, "symptom_duration_weeks": 1, "conservative_care_weeks": 0, "slip_grade": 0, "slip_type": "none"}
    urgent |= {"stenosis": None, "cauda_equina_syndrome": True, "levels": 2, "back_pain": False}
    assert explore.summary(urgent) == (
        "age 63, leg pain for 1 week, no structured care yet, 2 symptomatic levels, no slip, stenosis not known, "
        "red flag: cauda equina syndrome"
    )
    fused = {**BASE, "prior_fusion": "pseudarthrosis", "disc_herniation": "recurrent", "slip_type": "isthmic"}
    assert explore.summary({**fused, "slip_grade": 0}).endswith(
        "a pars defect without a slip, severe stenosis, disc herniation (recurrent), previous fusion (pseudarthrosis)"
    )
    with pytest.raises(InputError):
        explore.summary({"age": 50})
