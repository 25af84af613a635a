"""FHIR R4 test resources in the shapes of the specification's examples (Patient, Observation
with valueQuantity or valueCodeableConcept, Condition with clinical and verification status,
Procedure with performedDateTime), and bundles of them, each validated by fhir.resources R4B."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fhir.resources.R4B.bundle import Bundle

from decision_aid.knowledge.fields import fields
from decision_aid.records.fhir_codes import CodeEntry, code_map

FHIR_DATA = Path(__file__).resolve().parent / "data" / "fhir"
PATIENT_ID = "example"
SUBJECT = {"reference": f"Patient/{PATIENT_ID}"}
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
# A full ICD-10-PCS code under each four-character table row the code map matches by prefix.
FULL_PCS = {"0SG0": "0SG00AJ", "0SG1": "0SG10AJ", "0SG3": "0SG30AJ", "0SB2": "0SB20ZZ", "0SR2": "0SR20JZ"}


def patient(birth_date: str = "1961-04-12", pid: str = PATIENT_ID) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": pid,
        "active": True,
        "name": [{"use": "official", "family": "Chalmers", "given": ["Peter", "James"]}],
        "gender": "male",
        "birthDate": birth_date,
    }


def coding(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    out = {"system": system, "code": code}
    if display:
        out["display"] = display
    return out


def observation(
    rid: str,
    code: dict[str, Any],
    date: str | None = "2026-10-02",
    status: str = "final",
    quantity: tuple[float, str] | None = None,
    answer: dict[str, Any] | None = None,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "resourceType": "Observation",
        "id": rid,
        "status": status,
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "vital-signs",
                    }
                ]
            }
        ],
        "code": {"coding": [code]},
        "subject": SUBJECT,
    }
    if date:
        out["effectiveDateTime"] = date
    if quantity is not None:
        value, unit = quantity
        out["valueQuantity"] = {"value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit}
    if answer is not None:
        out["valueCodeableConcept"] = {"coding": [answer]}
    return out


def condition(
    rid: str, code: dict[str, Any], clinical: str | None = "active", verification: str | None = "confirmed"
) -> dict[str, Any]:
    out: dict[str, Any] = {"resourceType": "Condition", "id": rid, "code": {"coding": [code]}, "subject": SUBJECT}
    if clinical:
        out["clinicalStatus"] = {"coding": [{"system": CLINICAL, "code": clinical}]}
    if verification:
        out["verificationStatus"] = {"coding": [{"system": VERIFICATION, "code": verification}]}
    out["onsetDateTime"] = "2026-09-20"
    return out


def procedure(rid: str, code: dict[str, Any], performed: str | None = "2019-03-01", status: str = "completed"):
    out: dict[str, Any] = {"resourceType": "Procedure", "id": rid, "status": status, "code": {"coding": [code]}}
    out["subject"] = SUBJECT
    if performed:
        out["performedDateTime"] = performed
    return out


def bundle(*resources: dict[str, Any], bundle_type: str = "collection") -> dict[str, Any]:
    """A bundle of these resources, checked to be valid FHIR R4 (R4B models)."""
    out = {
        "resourceType": "Bundle",
        "id": "decision-aid-test",
        "type": bundle_type,
        "entry": [{"fullUrl": f"urn:uuid:{r['resourceType'].lower()}-{r['id']}", "resource": r} for r in resources],
    }
    Bundle.model_validate(out)
    return out


def resource_for(entry: CodeEntry, index: int, **kw: Any) -> dict[str, Any]:
    """A resource carrying this code-map entry's code (a full code under a prefix entry), with a
    value the entry can read: the first answer, or a quantity at the middle of the field's range."""
    code = FULL_PCS[entry.code] if entry.prefix else entry.code
    tagged = coding(entry.system, code, entry.display if not entry.prefix else None)
    rid = f"{entry.resource_type.lower()}-{index}"
    if entry.resource_type == "Condition":
        return condition(rid, tagged, **kw)
    if entry.resource_type == "Procedure":
        return procedure(rid, tagged, **kw)
    setting = entry.sets[0]
    if setting.read == "answer":
        answer = setting.answers[0]
        return observation(rid, tagged, answer=coding(answer.system, answer.code, answer.display), **kw)
    spec = fields()[setting.field]
    low, high = spec.plausible or (spec.minimum, spec.maximum)
    value = kw.pop("value", round((low + high) / 2 + index / 10, 1))
    return observation(rid, tagged, quantity=(value, setting.units[0]), **kw)


def every_code_bundle() -> dict[str, Any]:
    """One resource for every entry of the bundled code map, for one patient."""
    entries = code_map().entries
    return bundle(patient(), *(resource_for(e, i) for i, e in enumerate(entries)))


def load(name: str) -> dict[str, Any]:
    return json.loads((FHIR_DATA / name).read_text(encoding="utf-8"))
