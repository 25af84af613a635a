"""A resource's patient reference is compared by resource type and id: an absolute reference
(base URL before `Patient/<id>`) or a versioned one (`/_history/<n>` after it) names the same
patient, so a coded red flag in it is never dropped as "about another patient"."""

from __future__ import annotations

import datetime as dt

import pytest

from decision_aid.records.fhir_import import import_bundle
from tests.cds_support import InProcess, Signer, hook_request, red_flag_chart, write_jwks
from tests.fhir_support import load

AS_OF = dt.date(2026, 12, 1)


def _with_subject(reference: str) -> dict:
    data = load("red_flag.json")
    for entry in data["entry"]:
        if "subject" in entry["resource"]:
            entry["resource"]["subject"]["reference"] = reference
    return data


@pytest.mark.parametrize(
    "reference",
    [
        "https://ehr.example.org/fhir/Patient/example",
        "Patient/example/_history/2",
        "https://ehr.example.org/fhir/Patient/example/_history/7",
    ],
)
def test_an_absolute_or_versioned_reference_to_the_patient_keeps_the_red_flag(reference):
    record = import_bundle(_with_subject(reference), as_of=AS_OF)
    assert record.red_flags == ["cauda_equina_syndrome"]
    assert not [s for s in record.skipped if "another patient" in s.reason]


@pytest.mark.parametrize(
    "reference", ["https://ehr.example.org/fhir/Patient/other", "Patient/other/_history/2", "Group/example"]
)
def test_a_reference_to_another_resource_is_still_another_patient(reference):
    record = import_bundle(_with_subject(reference), as_of=AS_OF)
    assert "cauda_equina_syndrome" not in record.filled
    assert any(s.reason == f"about another patient ({reference})" for s in record.skipped)


def test_a_patient_with_an_absolute_full_url_is_matched_by_its_id():
    data = _with_subject("Patient/example")
    data["entry"][0]["fullUrl"] = "https://ehr.example.org/fhir/Patient/example"
    assert import_bundle(data, as_of=AS_OF).red_flags == ["cauda_equina_syndrome"]


def test_the_cds_service_raises_the_red_flag_of_an_absolute_or_versioned_reference(tmp_path):
    signer = Signer()
    service = InProcess(signer, write_jwks(tmp_path / "jwks.json", signer))
    request = hook_request(red_flag_chart())
    for i, entry in enumerate(request["prefetch"]["conditions"]["entry"]):
        reference = entry["resource"]["subject"]["reference"]
        entry["resource"]["subject"]["reference"] = (
            f"https://ehr.example.org/fhir/{reference}" if i % 2 == 0 else f"{reference}/_history/3"
        )
    response = service.post(request)
    assert response.status_code == 200
    critical = [c["summary"] for c in response.json()["cards"] if c["indicator"] == "critical"]
    assert any("cauda equina" in s for s in critical)
