"""Everything the Consultation page shows for one patient, computed in one call.

The page only lays this out: the assessment, what would change each verdict,
the clinic-letter summary, and the JSON record to save. Loading a saved record
(or a bare patient file) goes through the same strict validation as the CLI.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from decision_aid.assessment import DecisionAid, default_aid
from decision_aid.counterfactuals import Suggestion, what_would_change
from decision_aid.errors import InputError, InputProblem
from decision_aid.json_text import read_json
from decision_aid.letter import clinic_letter
from decision_aid.missing import Ask, by_test
from decision_aid.models import Assessment, PatientFactors, parse_factors

RECORD_KIND = "decision_aid consultation"


@dataclass(frozen=True)
class Consultation:
    patient: PatientFactors
    assessment: Assessment
    suggestions: dict[str, list[Suggestion]]
    letter: str

    @property
    def unknowns(self) -> dict[str, list[Ask]]:
        """option -> the missing information that could change its verdict, one test at a time (as
        `missing.by_test` asks for it, most verdicts first): the verdict stands on what is known so far."""
        out: dict[str, list[Ask]] = {}
        for ask in by_test(self.assessment.missing_information):
            for option in ask.options:
                out.setdefault(option, []).append(Ask(ask.test, tuple(i for i in ask.items if option in i.options)))
        return out

    def record(self) -> dict[str, Any]:
        """What "save" writes: the patient, its assessment and the knowledge version."""
        return {
            "kind": RECORD_KIND,
            "knowledge_version": self.assessment.knowledge_version,
            "patient": self.patient.model_dump(mode="json"),
            "assessment": self.assessment.model_dump(mode="json"),
        }

    def record_json(self) -> str:
        return json.dumps(self.record(), indent=2, ensure_ascii=False) + "\n"


def consult(factors: PatientFactors | dict[str, Any], aid: DecisionAid | None = None) -> Consultation:
    """Assess a patient with everything the page shows (the page passes its DecisionAid; the
    process-wide one by default). Raises InputError for invalid factors."""
    aid = aid or default_aid()
    patient = parse_factors(factors)
    explained = aid.explain(patient)
    return Consultation(
        patient=patient,
        assessment=explained.assessment,
        suggestions=what_would_change(aid, patient, explained),
        letter=clinic_letter(explained.assessment, aid.knowledge),
    )


def load_patient(data: str | bytes) -> PatientFactors:
    """A patient from a saved consultation record or a bare patient JSON object.

    Raises InputError naming the problem (too large, not UTF-8 JSON, a repeated key,
    not an object, or each bad field); nothing else, whatever the file holds.
    """
    parsed = read_json(data, what="(file)")
    if isinstance(parsed, dict) and isinstance(parsed.get("patient"), dict) and parsed.get("kind") == RECORD_KIND:
        parsed = parsed["patient"]
    if not isinstance(parsed, dict):
        raise InputError([InputProblem("(file)", "a patient must be a JSON object")])
    return parse_factors(parsed)
