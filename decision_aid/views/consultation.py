"""Everything the Consultation page shows for one patient, computed in one call.

The page only lays this out: the assessment, what would change each verdict,
the test that would settle each caution resting on an unknown answer, the
clinic-letter summary, and the JSON record to save. Loading a saved record
(or a bare patient file) goes through the same strict validation as the CLI.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from decision_aid.engine.assessment import DecisionAid, default_aid
from decision_aid.engine.missing import Ask, by_test
from decision_aid.engine.settling import Settler, settle_sentence, settlers
from decision_aid.engine.what_would_change import Suggestion, what_would_change
from decision_aid.errors import InputError, InputProblem
from decision_aid.json_text import read_json
from decision_aid.knowledge.fields import fields
from decision_aid.models import DEFAULT_JURISDICTION, JURISDICTIONS, Assessment, PatientFactors, parse_factors
from decision_aid.views.form import read_file_values, readable
from decision_aid.views.letter import clinic_letter

RECORD_KIND = "decision_aid consultation"


@dataclass(frozen=True)
class Consultation:
    patient: PatientFactors
    assessment: Assessment
    suggestions: dict[str, list[Suggestion]]
    letter: str
    settlers: dict[str, Settler]  # rule id -> what would settle its caution (cautions resting on an unknown)

    @property
    def settles(self) -> dict[str, str]:
        """rule id -> "Flexion-extension radiographs would settle this.", for each caution resting on an unknown."""
        return {rule_id: settle_sentence(settler) for rule_id, settler in self.settlers.items()}

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
        """What "save" writes: the patient, its assessment, the knowledge version and the jurisdiction
        it was assessed under."""
        return {
            "kind": RECORD_KIND,
            "knowledge_version": self.assessment.knowledge_version,
            "jurisdiction": self.assessment.jurisdiction,
            "patient": self.patient.model_dump(mode="json"),
            "assessment": self.assessment.model_dump(mode="json"),
        }

    def record_json(self) -> str:
        return json.dumps(self.record(), indent=2, ensure_ascii=False) + "\n"


def consult(
    factors: PatientFactors | dict[str, Any], aid: DecisionAid | None = None, jurisdiction: str | None = None
) -> Consultation:
    """Assess a patient with everything the page shows (the page passes its DecisionAid; the
    process-wide one by default), under `jurisdiction` ('uk', the default, or 'us'): what would
    change each verdict and the missing information are searched under it, never varying it.
    Raises InputError for invalid factors or an invalid jurisdiction."""
    aid = aid or default_aid()
    patient = parse_factors(factors)
    explained = aid.explain(patient, jurisdiction)
    return Consultation(
        patient=patient,
        assessment=explained.assessment,
        suggestions=what_would_change(aid, patient, explained),
        letter=clinic_letter(explained.assessment, aid.knowledge, patient),
        settlers=settlers(aid.knowledge, patient, explained.assessment),
    )


@dataclass(frozen=True)
class Loaded:
    """A patient read from a file, with the jurisdiction a saved consultation was assessed under
    (None for a bare patient file, which names none)."""

    patient: PatientFactors
    jurisdiction: str | None = None


def load_patient(data: str | bytes) -> PatientFactors:
    """A patient from a saved consultation record or a bare patient JSON object (see `load_record`)."""
    return load_record(data).patient


def load_record(data: str | bytes) -> Loaded:
    """A patient from a saved consultation record or a bare patient JSON object, with the record's
    jurisdiction (its top-level "jurisdiction", else its assessment's; a record saved before the
    setting existed was assessed under the default, uk).

    Raises InputError naming the problem (too large, not UTF-8 JSON, a repeated key,
    not an object, each bad field, or a record's jurisdiction that is neither uk nor us);
    nothing else, whatever the file holds.
    """
    parsed, jurisdiction = _unwrap(read_json(data, what="(file)"))
    if not isinstance(parsed, dict):
        raise InputError([InputProblem("(file)", "a patient must be a JSON object")])
    return Loaded(parse_factors(parsed), jurisdiction)


def load_record_in_form_words(data: str | bytes) -> Loaded:
    """As `load_record`, for the app: an invalid patient's problems all at once (values of the wrong type
    or out of range together with the cross-field checks, which the contract reports only once every
    value is valid), each in the form's words, labels and units. The CLI and JSON keep the contract's."""
    try:
        return load_record(data)
    except InputError as error:
        raise InputError(_in_form_words(data, error.problems)) from None


def _unwrap(parsed: Any) -> tuple[Any, str | None]:
    """The patient object of a saved consultation record (with its jurisdiction), or the file itself."""
    if isinstance(parsed, dict) and isinstance(parsed.get("patient"), dict) and parsed.get("kind") == RECORD_KIND:
        assessment = parsed.get("assessment")
        saved = assessment.get("jurisdiction") if isinstance(assessment, dict) else None
        jurisdiction = parsed.get("jurisdiction", saved)
        jurisdiction = DEFAULT_JURISDICTION if jurisdiction is None else jurisdiction
        if jurisdiction not in JURISDICTIONS:
            allowed = " or ".join(JURISDICTIONS)
            raise InputError([InputProblem("jurisdiction", f"the record's jurisdiction must be {allowed}")])
        return parsed["patient"], jurisdiction
    return parsed, None


def _in_form_words(data: str | bytes, problems: list[InputProblem]) -> list[InputProblem]:
    """The contract's problems of a file, with every problem of its patient's fields read as the form
    reads its answers; the file's own problems (not JSON, a name that is no field...) as the contract gives them."""
    try:
        patient, _ = _unwrap(read_json(data, what="(file)"))
    except InputError:
        return problems
    if not isinstance(patient, dict):
        return problems
    known = fields()
    reading = read_file_values(patient)
    # the form's reading finds every problem the contract finds, and more; should it miss one, the contract's stays
    missed = {p.field: readable(p.message) for p in problems if p.field in known and p.field not in reading.problems}
    own = [p for p in problems if p.field not in known]  # the file's own and names that are no field, as they were
    return own + [InputProblem(name, message) for name, message in {**reading.problems, **missed}.items()]
