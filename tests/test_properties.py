"""Invariants of the engine over generated valid patients (hypothesis)."""

import json

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from decision_aid import OPTIONS, default_aid
from decision_aid.verdicts import VERDICT_RANK
from tests.strategies import patients

pytestmark = pytest.mark.slow  # 150 generated patients per property

SURGICAL = [o for o in OPTIONS if o != "conservative_care"]
EFFECT_ORDER = ["excludes", "opposes", "cautions", "supports"]
RED_FLAG_RULES = {
    "cauda_equina_syndrome": "red-flag.cauda-equina",
    "suspected_infection": "red-flag.infection",
    "suspected_tumour": "red-flag.tumour",
    "suspected_fracture": "red-flag.fracture",
}
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

aid = default_aid()


def verdicts(patient):
    return {o: r.verdict for o, r in aid.assess(patient).options.items()}


def no_better(after: str, before: str) -> bool:
    return VERDICT_RANK[after] >= VERDICT_RANK[before]


@SETTINGS
@given(patients(red_flags=None))
def test_every_option_has_a_verdict_and_traceable_reasons(patient):
    assessment = aid.assess(patient)
    assert list(assessment.options) == list(OPTIONS)
    for option, result in assessment.options.items():
        assert result.reasons, option
        for reason in result.reasons:
            assert reason.rule_id in aid.knowledge.by_id
            assert all(c in aid.knowledge.citations for c in reason.evidence)
        for note in result.notes:
            assert note.rule_id in aid.knowledge.by_id
        keys = [(EFFECT_ORDER.index(r.effect), r.rule_id) for r in result.reasons]
        assert keys == sorted(keys)
        if result.verdict == "not_applicable":
            assert {r.effect for r in result.reasons} == {"excludes"}


@SETTINGS
@given(patients(red_flags=None))
def test_same_input_gives_byte_identical_json(patient):
    first = aid.assess(patient).model_dump_json()
    assert aid.assess(dict(reversed(list(patient.items())))).model_dump_json() == first
    assert aid.assess(json.dumps(patient)).model_dump_json() == first


@SETTINGS
@given(patients(red_flags=True))
def test_red_flags_always_win(patient):
    assessment = aid.assess(patient)
    expected = {rule for field, rule in RED_FLAG_RULES.items() if patient.get(field)}
    if patient["motor_deficit"] in ("severe", "progressive"):
        expected.add(f"red-flag.{patient['motor_deficit']}-motor-deficit")
    assert assessment.urgent_referral
    assert len(assessment.alerts) == len(expected)
    assert assessment.missing_information == []
    for result in assessment.options.values():
        assert result.verdict == "not_applicable"
        assert [r.rule_id for r in result.reasons] == sorted(expected)


@SETTINGS
@given(patients())
def test_previous_fusion_decides_which_of_fusion_and_revision_applies(patient):
    result = verdicts(patient)
    if patient["prior_fusion"] == "none":
        assert result["revision_surgery"] == "not_applicable"
    if patient["prior_fusion"] in ("pseudarthrosis", "hardware_failure") or patient["adjacent_segment_disease"]:
        assert result["fusion"] == "not_applicable"
    else:
        assert result["fusion"] != "not_applicable"


@SETTINGS
@given(patients())
def test_missing_information_lists_only_unknown_fields_in_order(patient):
    missing = aid.assess(patient).missing_information
    for item in missing:
        assert item.field not in patient and item.options and item.why
    keys = [(-len(m.options), m.field) for m in missing]
    assert keys == sorted(keys)


@SETTINGS
@given(patients(), st.integers(1, 70))
def test_lower_t_score_never_improves_dynamic_stabilisation(patient, drop_tenths):
    assume("bone_density_t_score" in patient)
    lower = round(patient["bone_density_t_score"] - drop_tenths / 10, 1)
    assume(lower >= -7)
    before = verdicts(patient)["dynamic_stabilisation"]
    after = verdicts({**patient, "bone_density_t_score": lower})["dynamic_stabilisation"]
    assert no_better(after, before)


@SETTINGS
@given(patients(), st.integers(1, 4))
def test_higher_slip_grade_never_improves_dynamic_stabilisation(patient, raise_by):
    assume(patient["slip_grade"] >= 1 and patient["slip_grade"] + raise_by <= 5)
    before = verdicts(patient)["dynamic_stabilisation"]
    after = verdicts({**patient, "slip_grade": patient["slip_grade"] + raise_by})["dynamic_stabilisation"]
    assert no_better(after, before)


@SETTINGS
@given(patients(), st.integers(1, 600))
def test_larger_cobb_angle_never_improves_dynamic_stabilisation(patient, raise_tenths):
    assume("scoliosis_cobb_deg" in patient)
    larger = round(patient["scoliosis_cobb_deg"] + raise_tenths / 10, 1)
    assume(larger <= 120)
    before = verdicts(patient)["dynamic_stabilisation"]
    after = verdicts({**patient, "scoliosis_cobb_deg": larger})["dynamic_stabilisation"]
    assert no_better(after, before)


@SETTINGS
@given(patients(), st.integers(1, 600))
def test_fewer_weeks_of_conservative_care_never_improve_surgery(patient, fewer):
    assume(patient["conservative_care_weeks"] >= fewer)
    before = verdicts(patient)
    after = verdicts({**patient, "conservative_care_weeks": patient["conservative_care_weeks"] - fewer})
    for option in SURGICAL:
        assert no_better(after[option], before[option]), option
