"""FHIR R4 import: bundles to factors with provenance, what is skipped or conflicting, and the
answers still needed (decision_aid.records.fhir_import and the code map rules/fhir_codes.yaml)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from decision_aid import assess
from decision_aid.errors import InputError
from decision_aid.knowledge.fields import fields
from decision_aid.models import PatientFactors, parse_factors
from decision_aid.records.fhir_codes import code_map
from decision_aid.records.fhir_import import import_bundle, present_red_flags
from tests.fhir_support import (
    FHIR_DATA,
    bundle,
    coding,
    load,
    observation,
    patient,
    procedure,
    resource_for,
)
from tests.strategies import patients

AS_OF = dt.date(2026, 12, 1)
LOINC, SCT = "http://loinc.org", "http://snomed.info/sct"
ICD10CM, PCS = "http://hl7.org/fhir/sid/icd-10-cm", "http://www.cms.gov/Medicare/Coding/ICD10"
BMI = coding(LOINC, "39156-5", "Body mass index (BMI) [Ratio]")
SMOKING = coding(LOINC, "72166-2", "Tobacco smoking status")
RED_FLAG_QUESTIONS = ["cauda_equina_syndrome", "suspected_infection", "suspected_tumour", "suspected_fracture"]
ALWAYS_ASKED = ["conservative_care_weeks", "motor_deficit"]
REQUIRED = [n for n, f in PatientFactors.model_fields.items() if f.is_required()]


def imported(*resources: dict[str, Any], as_of: dt.date = AS_OF):
    return import_bundle(bundle(patient(), *resources), as_of=as_of)


# ---- the test bundles ------------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(FHIR_DATA.glob("*.json")), ids=lambda p: p.stem)
def test_every_test_bundle_is_valid_fhir_r4(path):
    Bundle.model_validate(json.loads(path.read_text(encoding="utf-8")))


def test_the_every_code_bundle_has_a_resource_for_every_code_map_entry():
    codings = {
        (c["system"], c["code"])
        for e in load("every_code.json")["entry"]
        for c in e["resource"].get("code", {}).get("coding", [])
    }
    for entry in code_map().entries:
        assert any(entry.matches(system, code) for system, code in codings), (entry.system, entry.code)


def test_the_every_code_bundle_fills_what_the_map_sets():
    record = import_bundle(load("every_code.json"), as_of=AS_OF)
    assert record.red_flags == RED_FLAG_QUESTIONS  # each red-flag diagnosis, coded present
    assert record.filled["prior_fusion"] == "pseudarthrosis"  # M96.0 answers the fusion's state
    assert record.filled["months_since_fusion"] == 93  # 2019-03-01 to 2026-12-01
    assert record.filled["smoker"] is True
    resources = [e["resource"] for e in load("every_code.json")["entry"]]
    t_scores = [r["valueQuantity"]["value"] for r in resources if "T-score" in json.dumps(r.get("code"))]
    assert record.filled["bone_density_t_score"] == min(t_scores)  # the lowest T-score is the field's meaning
    assert [c.field for c in record.conflicts] == ["prior_motion_implant"]  # three kinds of implant coded
    assert "prior_motion_implant" in record.needed and "prior_motion_implant" not in record.filled
    assert record.allowed == {"prior_decompression": (True, False)}  # a discectomy asks: at this level?
    assert record.has_lumbar_diagnosis and not record.skipped


@pytest.mark.parametrize("index", range(len(code_map().entries)), ids=lambda i: code_map().entries[i].code)
def test_each_code_map_entry_alone_does_what_it_says(index):
    entry = code_map().entries[index]
    record = imported(resource_for(entry, index))
    assert not record.skipped and not record.conflicts
    assert record.has_lumbar_diagnosis == entry.lumbar
    for setting in entry.sets:
        if setting.ask is not None or setting.ask_any:
            assert setting.field in record.needed and setting.field not in record.filled
            assert record.raised_by[setting.field][0].resource_id == f"{entry.resource_type.lower()}-{index}"
        else:
            assert setting.field in record.filled
            source = record.provenance[setting.field]
            assert (source.resource_type, source.system, source.display) == (
                entry.resource_type,
                entry.system,
                entry.display,
            )
            if setting.value is not None:
                assert record.filled[setting.field] == setting.value
    assert set(record.filled) <= {"age", *entry.fields}


def test_a_bundle_with_no_mapped_code_fills_only_the_age():
    record = import_bundle(load("no_codes.json"), as_of=AS_OF)
    assert record.filled == {"age": 68}
    assert record.provenance["age"].resource_type == "Patient" and record.provenance["age"].date == "1958-07-30"
    assert not record.skipped and not record.conflicts and not record.red_flags
    assert not record.has_lumbar_diagnosis
    expected = [n for n in fields() if n in REQUIRED + RED_FLAG_QUESTIONS + ALWAYS_ASKED and n != "age"]
    assert record.needed == expected


def test_stale_non_final_and_unusable_resources_are_skipped_with_the_reason():
    record = import_bundle(load("stale_conflicting.json"), as_of=AS_OF)
    reasons = {s.resource_id: s.reason for s in record.skipped}
    assert reasons == {
        "bmi-2023": "1301 days old at 2026-12-01: older than the 365-day limit",
        "smoking-prelim": "status preliminary (only final, amended or corrected is used)",
        "smoking-error": "status entered-in-error (only final, amended or corrected is used)",
        "ces-error": "verification status entered-in-error",
        "tumour-refuted": "verification status refuted",
        "fracture-resolved": "clinical status resolved",
        "fusion-not-done": "status not-done (only completed is used)",
    }
    assert not record.red_flags and "smoker" not in record.filled and "prior_fusion" not in record.needed


def test_conflicting_observations_are_reported_and_the_field_left_needed():
    record = import_bundle(load("stale_conflicting.json"), as_of=AS_OF)
    (conflict,) = record.conflicts
    assert conflict.field == "bmi"
    assert [(v, p.resource_id) for v, p in conflict.values] == [(31.2, "bmi-a"), (33.9, "bmi-b")]
    assert "bmi" not in record.filled and "bmi" in record.needed
    assert record.why_needed("bmi") == "the record's resources disagree"


def test_equal_values_from_several_resources_are_no_conflict():
    record = imported(observation("a", BMI, quantity=(31.2, "kg/m2")), observation("b", BMI, quantity=(31.2, "kg/m2")))
    assert record.filled["bmi"] == 31.2 and not record.conflicts


def test_a_red_flag_in_the_record_is_present_and_the_others_stay_needed():
    record = import_bundle(load("red_flag.json"), as_of=AS_OF)
    assert record.red_flags == ["cauda_equina_syndrome"] and record.filled["cauda_equina_syndrome"] is True
    assert str(record.provenance["cauda_equina_syndrome"]).startswith(
        "Condition/ces, SNOMED CT 192970008 Cauda equina syndrome"
    )
    assert [n for n in RED_FLAG_QUESTIONS if n in record.needed] == RED_FLAG_QUESTIONS[1:]


def test_no_red_flag_is_ever_set_to_no_from_a_record():
    record = import_bundle(load("every_code.json"), as_of=AS_OF)
    assert all(record.filled.get(n) is not False for n in RED_FLAG_QUESTIONS)
    for name in RED_FLAG_QUESTIONS:
        none = import_bundle(load("no_codes.json"), as_of=AS_OF)
        assert name in none.needed and name not in none.filled


def test_present_red_flags_reads_the_red_flag_rules():
    assert present_red_flags({"motor_deficit": "progressive"}) == ["motor_deficit"]
    assert present_red_flags({"motor_deficit": "stable", "suspected_tumour": False}) == []


# ---- dates --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("birth", "as_of", "age"),
    [
        ("1961-04-12", dt.date(2026, 4, 11), 64),
        ("1961-04-12", dt.date(2026, 4, 12), 65),
        ("1960-02-29", dt.date(2026, 2, 28), 65),
        ("1960-02-29", dt.date(2026, 3, 1), 66),
        ("1961-04", dt.date(2026, 5, 1), 65),  # a month is enough when the as-of month differs
    ],
)
def test_the_age_is_the_birth_date_at_the_as_of_date(birth, as_of, age):
    record = import_bundle(bundle(patient(birth)), as_of=as_of)
    assert record.filled == {"age": age}


def test_a_birth_year_alone_gives_no_age_and_says_so():
    record = import_bundle(bundle(patient("1961")), as_of=AS_OF)
    assert "age" in record.needed and "age" not in record.filled
    assert [s.reason for s in record.skipped] == ["the birth date 1961 gives no single age"]


def test_an_age_outside_the_contract_is_skipped():
    record = import_bundle(bundle(patient("2015-01-01")), as_of=AS_OF)
    assert record.skipped[0].reason == "age 11 at 2026-12-01 is outside the allowed range 18 to 110"


def test_the_as_of_date_defaults_to_today():
    record = import_bundle(bundle(patient("1961-04-12")))
    born = dt.date(1961, 4, 12)
    today = dt.date.today()
    assert record.filled["age"] == today.year - born.year - ((today.month, today.day) < (4, 12))


def test_an_observation_is_used_up_to_its_age_limit_and_not_a_day_more():
    dxa = coding(LOINC, "38267-1", "DXA Lumbar spine [T-score] Bone density")
    on_the_day = imported(observation("dxa", dxa, date="2024-12-01", quantity=(-2.6, "{T-score}")))
    assert on_the_day.filled["bone_density_t_score"] == -2.6  # 730 days: the DXA limit
    a_day_late = imported(observation("dxa", dxa, date="2024-11-30", quantity=(-2.6, "{T-score}")))
    assert a_day_late.skipped[0].reason == "731 days old at 2026-12-01: older than the 730-day limit"


def test_an_observation_dated_after_the_as_of_date_or_undated_is_skipped():
    late = imported(observation("bmi", BMI, date="2026-12-02", quantity=(30.0, "kg/m2")))
    assert late.skipped[0].reason == "dated 2026-12-02, after the as-of date 2026-12-01"
    undated = imported(observation("bmi", BMI, date=None, quantity=(30.0, "kg/m2")))
    assert undated.skipped[0].reason == "no date: its age cannot be told"


def test_values_the_field_cannot_hold_and_wrong_units_are_skipped():
    record = imported(
        observation("bmi-lb", BMI, quantity=(31.0, "lb/in2")),
        observation("bmi-huge", BMI, quantity=(95.0, "kg/m2")),
    )
    assert [s.reason for s in record.skipped] == [
        "unit lb/in2 (expected kg/m2)",
        "bmi 95.0 is outside the allowed range 12 to 80",
    ]
    assert "bmi" not in record.filled


def test_an_answer_that_means_unknown_fills_nothing():
    record = imported(observation("s", SMOKING, answer=coding(SCT, "266927001", "Unknown if ever smoked")))
    assert "smoker" not in record.filled
    assert record.skipped[0].reason == "the answer (Unknown if ever smoked) says it is not known"


def test_a_former_smoker_is_not_a_smoker():
    record = imported(observation("s", SMOKING, answer=coding(SCT, "8517006", "Former smoker")))
    assert record.filled["smoker"] is False


def test_a_resource_about_another_patient_is_skipped():
    other = observation("bmi", BMI, quantity=(30.0, "kg/m2"))
    other["subject"] = {"reference": "Patient/someone-else"}
    record = imported(other)
    assert record.skipped[0].reason == "about another patient (Patient/someone-else)"


def test_a_bundle_of_two_patients_is_refused():
    with pytest.raises(InputError, match="more than one patient"):
        import_bundle(bundle(patient(pid="a"), patient(pid="b")), as_of=AS_OF)


def test_months_since_a_fusion_come_from_the_performed_date():
    fusion = procedure("f", coding(PCS, "0SG10AJ"), performed="2024-06-15")
    record = imported(fusion)
    assert record.filled["months_since_fusion"] == 29
    assert record.needed.count("prior_fusion") == 1
    assert record.allowed["prior_fusion"] == ("solid", "pseudarthrosis", "hardware_failure")


# ---- bad bundles --------------------------------------------------------------------------


def test_text_input_goes_through_the_shared_json_reader():
    with pytest.raises(InputError, match="repeated key"):
        import_bundle('{"resourceType": "Bundle", "resourceType": "Bundle"}')
    with pytest.raises(InputError, match="too large"):
        import_bundle(b" " * 1_000_001)
    with pytest.raises(InputError, match="not UTF-8"):
        import_bundle(b'{"resourceType": "Bundle", "id": "\xff"}')


@pytest.mark.parametrize(
    ("data", "where", "words"),
    [
        ([], "bundle", "must be a JSON object"),
        ({"resourceType": "Patient"}, "resourceType", 'expected a FHIR Bundle (resourceType "Bundle"), got "Patient"'),
        (
            {"resourceType": "Bundle", "type": "collection", "entry": [{"fullUrl": 7, "resource": patient()}]},
            "entry[0].fullUrl",
            "not valid FHIR R4",
        ),
        ({"resourceType": "Bundle"}, "type", "not valid FHIR R4"),
    ],
)
def test_a_bundle_that_is_not_valid_fhir_r4_names_the_element(data, where, words):
    with pytest.raises(InputError) as error:
        import_bundle(data, as_of=AS_OF)
    assert any(p.field == where and words in p.message for p in error.value.problems), error.value.problems


# ---- completing the record ----------------------------------------------------------------


def answers_for(record, **changes) -> dict[str, Any]:
    base = {
        "back_pain": True,
        "leg_pain": True,
        "symptom_duration_weeks": 52,
        "conservative_care_weeks": 24,
        "motor_deficit": "none",
        "levels": 1,
        "slip_grade": 0,
        **dict.fromkeys(RED_FLAG_QUESTIONS, False),
    }
    return {k: v for k, v in {**base, **changes}.items() if k not in record.filled}


def test_complete_adds_the_answers_to_the_record():
    record = import_bundle(load("stale_conflicting.json"), as_of=AS_OF)
    factors = record.complete(answers_for(record, bmi=None))  # the clinician says: not known
    assert factors.age == 65 and factors.bmi is None and factors.conservative_care_weeks == 24


def test_complete_names_every_field_still_needed():
    record = import_bundle(load("no_codes.json"), as_of=AS_OF)
    with pytest.raises(InputError) as error:
        record.complete({"back_pain": True})
    assert [p.field for p in error.value.problems] == [n for n in record.needed if n != "back_pain"]
    assert all("still needed: not in the record" in p.message for p in error.value.problems)


def test_an_answer_may_repeat_the_record_but_not_change_it():
    record = import_bundle(load("red_flag.json"), as_of=AS_OF)
    assert record.complete({**answers_for(record), "bmi": 28.4, "age": 56}).bmi == 28.4
    with pytest.raises(InputError) as error:
        record.complete({**answers_for(record), "cauda_equina_syndrome": False})
    (problem,) = error.value.problems
    assert problem.field == "cauda_equina_syndrome" and "the record gives true (Condition/ces" in problem.message


def test_an_answer_the_record_rules_out_is_refused():
    record = imported(procedure("f", coding(PCS, "0SG00AJ")))
    with pytest.raises(InputError) as error:
        record.complete(answers_for(record, prior_fusion="none"))
    problem = error.value.problems[0]
    assert problem.field == "prior_fusion" and "the record allows only" in problem.message
    assert "Procedure/f, ICD-10-PCS 0SG00AJ Fusion of Lumbar Vertebral Joint" in problem.message
    assert record.complete(answers_for(record, prior_fusion="solid")).prior_fusion == "solid"


def test_an_invalid_answer_is_named_with_the_contract_message():
    record = import_bundle(load("no_codes.json"), as_of=AS_OF)
    with pytest.raises(InputError) as error:
        record.complete(answers_for(record, slip_grade=9, stenosis="huge"))
    assert {p.field for p in error.value.problems} == {"slip_grade", "stenosis"}


def test_assessing_the_completed_record_equals_assessing_the_same_factors_typed():
    record = import_bundle(load("red_flag.json"), as_of=AS_OF)
    answers = answers_for(record)
    typed = {**answers, **record.filled}
    assert assess(record.complete(answers)).model_dump_json() == assess(typed).model_dump_json()
    assert assess(typed).urgent_referral
    assert parse_factors(typed) == record.complete(answers)


# ---- the property -------------------------------------------------------------------------


@st.composite
def coded_bundles(draw: st.DrawFn) -> tuple[dict[str, Any], set[str]]:
    """A valid bundle of code-map entries (repeats allowed, so conflicts happen), with random values,
    dates and answers, and the fields those entries name."""
    entries = code_map().entries
    chosen = draw(st.lists(st.integers(0, len(entries) - 1), max_size=6))
    resources = []
    for n, i in enumerate(chosen):
        entry = entries[i]
        kw: dict[str, Any] = {}
        if entry.resource_type == "Observation":
            kw["date"] = draw(st.sampled_from(["2026-11-30", "2026-01-15", "2023-05-01"]))
            spec = fields()[entry.sets[0].field]
            if entry.sets[0].read == "quantity":
                kw["value"] = draw(st.integers(int(spec.minimum * 10) - 20, int(spec.maximum * 10) + 20)) / 10
        if entry.resource_type == "Procedure":
            kw["performed"] = draw(st.sampled_from(["2019-03-01", "2025-11", "2001"]))
        resource = resource_for(entry, n, **kw)
        if entry.sets and entry.sets[0].read == "answer":
            answer = draw(st.sampled_from(entry.sets[0].answers))
            resource["valueCodeableConcept"]["coding"] = [coding(answer.system, answer.code, answer.display)]
        resources.append(resource)
    born = draw(st.dates(dt.date(1910, 1, 1), dt.date(2010, 12, 31)))
    return bundle(patient(born.isoformat()), *resources), {f for i in chosen for f in entries[i].fields}


@pytest.mark.slow  # a hypothesis property over many bundles, each assessed twice
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(coded=coded_bundles(), typed_by_hand=patients(red_flags=None))
def test_an_import_fills_only_mapped_fields_and_assesses_as_the_same_factors_typed(coded, typed_by_hand):
    data, named = coded
    record = import_bundle(data, as_of=AS_OF)
    assert set(record.filled) <= named | {"age"}
    assert all(fields()[n].accepts(v) for n, v in record.filled.items())
    assert all(record.filled.get(n) is not False for n in RED_FLAG_QUESTIONS)  # never "no" from a record
    assert set(record.needed) >= {n for n in REQUIRED + RED_FLAG_QUESTIONS + ALWAYS_ASKED if n not in record.filled}
    answers = {k: v for k, v in typed_by_hand.items() if k not in record.filled}
    answers.update({n: typed_by_hand.get(n) for n in record.needed})  # a needed unknown is answered "not known"
    typed = {**answers, **record.filled}
    try:
        factors = record.complete(answers)
    except InputError as error:
        refused = {p.field for p in error.problems}
        outside = {n for n, allowed in record.allowed.items() if all(answers.get(n) != a for a in allowed)}
        if not refused <= outside:
            with pytest.raises(InputError):
                parse_factors(typed)  # the same factors typed by hand are refused too
        return
    assert factors == parse_factors(typed)
    assert assess(factors).model_dump_json() == assess(typed).model_dump_json()
