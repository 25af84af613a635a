"""The clinic-letter summary: five to eight lines with the verdicts, key reasons and citations."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from decision_aid import assess, default_aid
from decision_aid.labels import OPTION_NAMES, VERDICT_WORDS
from decision_aid.letter import clinic_letter
from decision_aid.samples import random_patients

EXAMPLES = sorted((Path(__file__).resolve().parent / "data").glob("*.json"))
PATIENTS = [json.loads(p.read_text()) for p in EXAMPLES] + random_patients(80, seed=7)
KNOWLEDGE = default_aid().knowledge


@pytest.mark.parametrize("patient", PATIENTS)
def test_five_to_eight_lines_naming_every_verdict_and_the_knowledge_version(patient):
    assessment = assess(patient)
    text = clinic_letter(assessment, KNOWLEDGE)
    lines = text.splitlines()
    assert 5 <= len(lines) <= 8, text
    assert assessment.knowledge_version in lines[-1]
    assert "does not replace, clinical judgement" in lines[-1]
    if assessment.urgent_referral:
        assert "URGENT REFERRAL" in lines[0]
        for alert in assessment.alerts:
            assert alert.message in text
        return
    for option, result in assessment.options.items():
        (line,) = [x for x in lines if x.startswith(f"- {OPTION_NAMES[option]}: ")]
        assert line.startswith(f"- {OPTION_NAMES[option]}: {VERDICT_WORDS[result.verdict]}.")


def test_key_reasons_carry_their_citations():
    patient = {
        "age": 81, "back_pain": True, "leg_pain": True, "symptom_duration_weeks": 70,
        "conservative_care_weeks": 52, "slip_grade": 1, "slip_type": "degenerative", "levels": 2,
        "stenosis": "severe", "bone_density_t_score": -2.9, "disc_herniation": "none",
    }  # fmt: skip
    text = clinic_letter(assess(patient), KNOWLEDGE)
    dynamic = next(x for x in text.splitlines() if x.startswith("- Dynamic stabilisation"))
    assert "not advised" in dynamic and "against: osteoporosis [" in dynamic
    fusion = next(x for x in text.splitlines() if x.startswith("- Fusion"))
    assert "caution: " in fusion and "for: " in fusion and "[ghogawala2016-slip]" in fusion


def test_nothing_indicates_it_only_when_nothing_more_specific_opposes():
    patient = {"age": 40, "back_pain": True, "leg_pain": False, "symptom_duration_weeks": 30,
               "conservative_care_weeks": 20, "slip_grade": 0, "levels": 1}  # fmt: skip
    lines = clinic_letter(assess(patient), KNOWLEDGE).splitlines()
    dynamic = next(x for x in lines if x.startswith("- Dynamic stabilisation"))
    assert dynamic.endswith("against: nothing indicates it.")
    decompression = next(x for x in lines if x.startswith("- Decompression alone"))
    assert "axial back pain only" in decompression and "nothing indicates it" not in decompression
