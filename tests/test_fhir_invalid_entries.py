"""Each entry of a bundle is validated on its own: an invalid resource is reported in `skipped`
with the reason and the rest of the record is used. An invalid resource that carries a mapped
red-flag code raises its red flag (the clinically safer reading): a red flag never vanishes
because its resource, or another one, breaks a FHIR rule."""

from __future__ import annotations

import copy
import datetime as dt

import pytest

from decision_aid.errors import InputError
from decision_aid.records.fhir_import import import_bundle
from tests.cds_support import InProcess, Signer, hook_request, red_flag_chart, write_jwks
from tests.fhir_support import load, patient

AS_OF = dt.date(2026, 12, 1)
SCT = "http://snomed.info/sct"


def _hypertension(onset: str) -> dict:
    return {
        "resourceType": "Condition",
        "id": "htn",
        "subject": {"reference": "Patient/example"},
        "code": {"coding": [{"system": SCT, "code": "38341003", "display": "Hypertension"}]},
        "onsetDateTime": onset,
    }


def test_an_invalid_unrelated_resource_is_skipped_with_its_reason_and_the_rest_used():
    data = load("red_flag.json")
    data["entry"].append({"resource": _hypertension("2020-13-45")})
    record = import_bundle(data, as_of=AS_OF)
    assert record.red_flags == ["cauda_equina_syndrome"]
    assert "bmi" in record.filled
    bad = [s for s in record.skipped if s.resource_id == "htn"]
    assert len(bad) == 1 and bad[0].reason.startswith("not valid FHIR R4") and "onsetDateTime" in bad[0].reason


def test_an_invalid_resource_with_a_red_flag_code_raises_the_red_flag():
    data = load("red_flag.json")
    ces = next(e["resource"] for e in data["entry"] if e["resource"].get("id") == "ces")
    ces["onsetDateTime"] = "2026-02-31"
    record = import_bundle(data, as_of=AS_OF)
    assert record.filled["cauda_equina_syndrome"] is True and record.red_flags == ["cauda_equina_syndrome"]
    note = next(s for s in record.skipped if s.resource_id == "ces")
    assert "not valid FHIR R4" in note.reason and "red flag" in note.reason


@pytest.mark.parametrize(
    ("resource", "words"),
    [
        ({"resourceType": "Nope", "id": "n"}, "not a FHIR R4 resource type"),
        ({**patient(), "birthDate": "12/04/1961"}, "birthDate"),
        ({**patient(), "shoeSize": 9}, "shoeSize"),
    ],
)
def test_an_invalid_resource_of_any_kind_is_skipped_and_named(resource, words):
    data = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": resource}]}
    record = import_bundle(data, as_of=AS_OF)
    assert any(words in s.reason and s.reason.startswith("not valid FHIR R4") for s in record.skipped)
    assert "age" not in record.filled


def test_the_bundle_itself_must_still_be_valid():
    with pytest.raises(InputError, match="not valid FHIR R4"):
        import_bundle({"resourceType": "Bundle", "entry": []}, as_of=AS_OF)


def test_the_cds_service_answers_with_the_red_flag_card_despite_an_invalid_resource(tmp_path):
    signer = Signer()
    service = InProcess(signer, write_jwks(tmp_path / "jwks.json", signer))
    request = hook_request(red_flag_chart())
    entries = request["prefetch"]["conditions"]["entry"]
    bad = copy.deepcopy(entries[0]["resource"])
    bad.update(id="other", onsetDateTime="2020-13-45")
    bad["code"] = {"coding": [{"system": SCT, "code": "38341003", "display": "Hypertension"}]}
    entries.append({"resource": bad})
    response = service.post(request)
    assert response.status_code == 200, response.text
    critical = [c["summary"] for c in response.json()["cards"] if c["indicator"] == "critical"]
    assert any("cauda equina" in s for s in critical)
