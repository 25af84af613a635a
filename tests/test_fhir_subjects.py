"""A bundle without a Patient resource is one patient's only if its resources name one subject:
resources about several patients are refused as "more than one patient", never mixed."""

from __future__ import annotations

import datetime as dt

import pytest

from decision_aid.errors import InputError
from decision_aid.records.fhir_import import import_bundle
from tests.fhir_support import bundle, coding, condition, observation

AS_OF = dt.date(2026, 12, 1)
SCT = "http://snomed.info/sct"
BMI = coding("http://loinc.org", "39156-5", "Body mass index (BMI) [Ratio]")


def _about(resource: dict, reference: str) -> dict:
    resource["subject"] = {"reference": reference}
    return resource


def test_resources_about_several_patients_without_a_patient_resource_are_refused():
    data = bundle(
        _about(condition("ces", coding(SCT, "192970008")), "Patient/A"),
        _about(condition("other", coding(SCT, "192970008")), "Patient/B"),
        _about(observation("bmi", BMI, quantity=(30.0, "kg/m2")), "Patient/C"),
    )
    with pytest.raises(InputError, match=r"more than one patient \(Patient/A, Patient/B, Patient/C\)"):
        import_bundle(data, as_of=AS_OF)


def test_one_subject_written_in_several_ways_is_one_patient():
    data = bundle(
        _about(condition("ces", coding(SCT, "192970008")), "Patient/A"),
        _about(observation("bmi", BMI, quantity=(30.0, "kg/m2")), "https://ehr.example.org/Patient/A"),
    )
    record = import_bundle(data, as_of=AS_OF)
    assert record.red_flags == ["cauda_equina_syndrome"] and record.filled["bmi"] == 30.0
