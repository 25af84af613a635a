"""The input contract: strict types, ranges, enums, nulls, unknown fields, cross-field checks."""

import json

import pytest

from decision_aid import InputError, PatientFactors, assess
from decision_aid.models import parse_factors
from tests.conftest import variant

# The shared base patient cut down to what the contract requires (tests/conftest.py).
BASE = variant("minimal")


def problems(data) -> dict[str, str]:
    with pytest.raises(InputError) as caught:
        parse_factors(data)
    return {p.field: p.message for p in caught.value.problems}


def test_defaults_follow_the_contract():
    patient = PatientFactors.model_validate(BASE)
    assert patient.activity_level == "moderate"
    assert patient.conservative_care_weeks == 0
    assert patient.motor_deficit == "none"
    assert patient.slip_type == "none" and patient.prior_fusion == "none"
    assert patient.cauda_equina_syndrome is False
    # every nullable field defaults to null = unknown, never to a normal value
    for name in ("bmi", "smoker", "stenosis", "translation_mm", "bone_density_t_score", "odi"):
        assert getattr(patient, name) is None


@pytest.mark.parametrize(
    "field, value, allowed",
    [
        ("age", "60", "an integer from 18 to 110"),
        ("age", 17, "an integer from 18 to 110"),
        ("age", 111, "an integer from 18 to 110"),
        ("age", 60.5, "an integer from 18 to 110"),
        ("age", True, "an integer from 18 to 110"),
        ("back_pain", 1, "true or false"),
        ("back_pain", "yes", "true or false"),
        ("smoker", "no", "true or false or null"),
        ("stenosis", "huge", '"none", "mild", "moderate", "severe"'),
        ("activity_level", "athlete", '"low", "moderate", "high"'),
        ("bmi", 81, "a number from 12 to 80"),
        ("bmi", "30", "a number from 12 to 80"),
        ("slip_grade", 6, "an integer from 0 to 5"),
        ("index_level", "L5-L6", '"L1-L2"'),
        ("translation_mm", -1, "a number from 0 to 30"),
        ("symptom_duration_weeks", None, "an integer from 0 to 2600"),
    ],
)
def test_bad_value_names_the_field_and_the_allowed_values(field, value, allowed):
    found = problems({**BASE, field: value})
    assert list(found) == [field]
    assert allowed in found[field]


def test_missing_required_field_is_named():
    found = problems({k: v for k, v in BASE.items() if k != "levels"})
    assert list(found) == ["levels"]
    assert "required" in found["levels"]


def test_unknown_field_is_an_error_with_a_suggestion():
    found = problems({**BASE, "stenossis": "mild"})
    assert "unknown field" in found["stenossis"]
    assert "stenosis" in found["stenossis"]


@pytest.mark.parametrize(
    "patch, field",
    [
        ({"slip_grade": 1, "slip_type": "none"}, "slip_type"),
        ({"slip_grade": 0, "slip_type": "degenerative"}, "slip_type"),
        ({"conservative_care_weeks": 31}, "conservative_care_weeks"),
        ({"adjacent_segment_disease": True}, "adjacent_segment_disease"),
        ({"months_since_fusion": 12}, "months_since_fusion"),
    ],
)
def test_cross_field_problem_names_the_field_that_must_change(patch, field):
    assert list(problems({**BASE, **patch})) == [field]


def test_valid_cross_field_combinations_pass():
    pars_defect = parse_factors({**BASE, "slip_grade": 0, "slip_type": "isthmic"})  # a pars defect without a slip
    assert (pars_defect.slip_grade, pars_defect.slip_type) == (0, "isthmic")
    fused = parse_factors(
        {**BASE, "prior_fusion": "solid", "months_since_fusion": 24, "adjacent_segment_disease": True}
    )
    assert (fused.prior_fusion, fused.months_since_fusion, fused.adjacent_segment_disease) == ("solid", 24, True)
    assert parse_factors({**BASE, "conservative_care_weeks": 30}).conservative_care_weeks == 30  # equal is allowed


def test_dict_and_json_text_are_validated_alike():
    good = {**BASE, "stenosis": "moderate", "bmi": 31}
    assert parse_factors(good) == parse_factors(json.dumps(good))
    bad = {**BASE, "age": "60", "smoker": 0}
    assert problems(bad).keys() == problems(json.dumps(bad)).keys()


def test_invalid_json_and_non_objects_are_clear_errors():
    assert "not valid JSON" in problems("{")["(input)"]
    assert "JSON object" in problems("[1, 2]")["(input)"]
    assert "JSON object" in problems([1, 2])["(input)"]


def test_several_problems_are_all_reported():
    found = problems({**BASE, "age": 5, "stenosis": "x", "bogus": 1})
    assert set(found) == {"age", "stenosis", "bogus"}


def test_assess_rejects_bad_input_with_input_error():
    with pytest.raises(InputError):
        assess({**BASE, "age": "sixty"})


def test_python_values_with_no_json_equivalent_are_rejected():
    from decimal import Decimal

    found = problems({**BASE, "bmi": Decimal("30.5")})
    assert "not a JSON value" in found["bmi"]


def test_a_byte_order_mark_is_accepted_in_a_file(tmp_path, capfdbinary):
    from tests.cli_support import run_cli

    path = tmp_path / "patient.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(BASE).encode())
    done = run_cli(capfdbinary, "assess", str(path))  # the command line, in this process
    assert done.returncode == 0, done.stderr


# ---- version 2 (contract.md, "Version 2 additions") ---------------------------------------------


def test_version_2_fields_are_optional_and_default_to_unknown_or_none():
    patient = PatientFactors.model_validate(BASE)
    assert patient.prior_motion_implant == "none"
    for name in (
        "leg_symptom_pattern",
        "flexion_relief",
        "prior_index_surgery",
        "motion_implant_state",
        "slip_direction",
        "slip_levels",
    ):
        assert getattr(patient, name) is None, name


@pytest.mark.parametrize(
    "patch, field",
    [
        ({"leg_pain": False, "leg_symptom_pattern": "claudication"}, "leg_symptom_pattern"),
        ({"leg_pain": False, "flexion_relief": True}, "flexion_relief"),
        ({"leg_pain": False, "flexion_relief": False}, "flexion_relief"),
        ({"prior_index_surgery": "laminectomy"}, "prior_index_surgery"),
        ({"prior_decompression": True, "prior_index_surgery": "none"}, "prior_index_surgery"),
        ({"disc_herniation": "recurrent", "prior_index_surgery": "none"}, "prior_index_surgery"),
        ({"motion_implant_state": "working"}, "motion_implant_state"),
        ({"slip_direction": "antero"}, "slip_direction"),
        ({"slip_levels": 1}, "slip_levels"),
        ({"slip_grade": 1, "slip_type": "isthmic", "slip_direction": "retro"}, "slip_direction"),
        ({"slip_grade": 1, "slip_type": "degenerative", "levels": 1, "slip_levels": 2}, "slip_levels"),
    ],
)
def test_version_2_cross_field_problem_names_the_field_that_must_change(patch, field):
    assert list(problems({**BASE, **patch})) == [field]


@pytest.mark.parametrize(
    "patch",
    [
        {"leg_symptom_pattern": "both", "flexion_relief": False},
        {"prior_decompression": True, "prior_index_surgery": "facetectomy"},
        {"prior_index_surgery": "none", "disc_herniation": "first"},
        {"disc_herniation": "recurrent"},  # the type of the earlier operation may stay unknown
        {"prior_motion_implant": "dynamic_stabilisation", "motion_implant_state": "mechanical_failure"},
        {"prior_motion_implant": "disc_replacement"},  # its state unknown
        {"slip_grade": 1, "slip_type": "degenerative", "slip_direction": "retro", "levels": 2, "slip_levels": 2},
        {"slip_grade": 2, "slip_type": "isthmic", "slip_direction": "antero", "slip_levels": 1},
    ],
)
def test_valid_version_2_combinations_pass(patch):
    patient = parse_factors({**BASE, **patch})
    assert {k: getattr(patient, k) for k in patch} == patch


def test_the_jurisdiction_is_a_setting_never_a_patient_field():
    found = problems({**BASE, "jurisdiction": "us"})
    assert list(found) == ["jurisdiction"] and "unknown field" in found["jurisdiction"]
    assert "jurisdiction" not in PatientFactors.model_json_schema()["properties"]


@pytest.mark.parametrize("bad", ["fr", "US", "", 1, True])
def test_a_bad_jurisdiction_is_an_input_error_naming_it(bad):
    with pytest.raises(InputError) as caught:
        assess(BASE, jurisdiction=bad)
    assert [p.field for p in caught.value.problems] == ["jurisdiction"]
    assert '"uk", "us"' in caught.value.problems[0].message


def test_the_json_schema_carries_the_version_2_fields():
    from decision_aid.models import input_schema

    properties = input_schema()["properties"]
    required = set(input_schema()["required"])
    enums = {
        "leg_symptom_pattern": ["claudication", "radicular", "both"],
        "prior_index_surgery": ["none", "discectomy", "laminotomy", "laminectomy", "facetectomy"],
        "prior_motion_implant": ["none", "dynamic_stabilisation", "interlaminar_device", "disc_replacement"],
        "motion_implant_state": ["working", "mechanical_failure", "symptoms_at_implant", "adjacent_level"],
        "slip_direction": ["antero", "retro"],
    }
    for name, values in enums.items():
        prop = properties[name]
        assert any(v.get("enum") == values for v in prop.get("anyOf", [prop])), name
        assert name not in required
    assert properties["prior_motion_implant"]["default"] == "none"
    assert properties["flexion_relief"]["default"] is None
    slip_levels = [v for v in properties["slip_levels"]["anyOf"] if v.get("type") == "integer"][0]
    assert (slip_levels["minimum"], slip_levels["maximum"]) == (1, 5)


def test_a_version_2_patient_round_trips_through_json():
    full = {
        **BASE,
        "leg_symptom_pattern": "both",
        "flexion_relief": True,
        "prior_decompression": True,
        "prior_index_surgery": "laminotomy",
        "prior_motion_implant": "dynamic_stabilisation",
        "motion_implant_state": "adjacent_level",
        "slip_grade": 1,
        "slip_type": "degenerative",
        "slip_direction": "retro",
        "levels": 2,
        "slip_levels": 2,
    }
    patient = parse_factors(json.dumps(full))
    assert parse_factors(patient.model_dump_json()) == patient
    assert {k: v for k, v in json.loads(patient.model_dump_json()).items() if k in full} == full
