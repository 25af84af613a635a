"""Plain English, measured: Flesch-Kincaid grade 8 or below for what patients read.

Pooled per option (its rules' patient explanations in rules/options/ and its
Option Grid cells) and per handout section, with the six option names and the
condition names of clinical-reference.md section 6 left out of the count.
textstat is pinned at 0.7.4: later versions need an NLTK corpus from the network.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import textstat

from decision_aid import default_aid
from decision_aid.engine.missing import by_test
from decision_aid.knowledge.fields import fields
from decision_aid.models import OPTIONS, MissingInformation, PatientFactors
from decision_aid.samples import random_patients
from decision_aid.views.handout import handout_content
from decision_aid.views.handout_content import strip_marks
from decision_aid.views.patient_view import view_of

MAX_GRADE = 8
OPTION_NAMES = [o.replace("_", " ") for o in OPTIONS]
CONDITION_NAMES = [
    "stenosis",
    "degenerative slip",
    "isthmic slip",
    "pars defect",
    "disc degeneration",
    "disc herniation",
    "failed fusion",
]
_NAMES = re.compile(
    r"\b(" + "|".join(re.escape(n) for n in sorted(OPTION_NAMES + CONDITION_NAMES, key=len, reverse=True)) + r")\b",
    re.IGNORECASE,
)
DATA = Path(__file__).resolve().parent.parent / "examples"
PATIENTS = [json.loads(p.read_text()) for p in sorted(DATA.glob("*.json"))] + random_patients(40, seed=5)
AID = default_aid()
VIEW = view_of(AID.knowledge)


def grade(text: str) -> float:
    """The Flesch-Kincaid grade of a text unit, names and source marks left out."""
    counted = _NAMES.sub("", strip_marks(text))
    assert len(counted.split()) >= 5, f"too little text left to measure: {text!r}"
    return textstat.flesch_kincaid_grade(counted)


def option_texts(option: str) -> list[str]:
    """What a patient reads about one option: its rules' explanations and its grid cells."""
    view = VIEW
    rules = [c.spec.patient_explanation for c in view.knowledge.rules if option in c.spec.options]
    cells = []
    for cell in view.grid.options[option].cells.values():
        cells += [cell.text] if cell.text else []
        cells += [figure.text for figure in cell.figures]
    return rules + cells


def test_the_measure_itself_tells_plain_from_dense_text():
    assert grade("You have a slipped bone. The nerve is squeezed. An operation may help.") <= MAX_GRADE
    assert (
        grade(
            "Decompressive laminectomy with instrumented posterolateral arthrodesis demonstrated statistically "
            "indistinguishable patient-reported disability trajectories."
        )
        > MAX_GRADE
    )
    assert grade("Disc herniation and stenosis: a nerve in your back is squeezed.") == grade(
        "and : a nerve in your back is squeezed."
    )


@pytest.mark.parametrize("option", OPTIONS)
def test_each_option_pooled(option):
    assert grade(" ".join(option_texts(option))) <= MAX_GRADE


@pytest.mark.parametrize("option", OPTIONS)
def test_each_explanation_and_cell_on_its_own(option):
    """clinical-reference.md section 6 asks it of every text unit, not only of the pool."""
    for text in option_texts(option):
        counted = _NAMES.sub("", strip_marks(text))
        assert textstat.flesch_kincaid_grade(counted) <= MAX_GRADE, text


def test_the_grid_row_labels_notes_and_study_notes():
    view = VIEW
    rows = " ".join(f"{q.label}. {q.note}" for q in view.grid.questions)
    studies = " ".join(f"{s.name}: {s.population}. {s.design} {s.uncertainty}" for s in view.grid.studies.values())
    assert grade(rows) <= MAX_GRADE
    assert grade(studies) <= MAX_GRADE


def test_the_red_flags_nothing_indicates_and_condition_texts():
    view = VIEW
    knowledge = view.knowledge
    assert grade(" ".join(c.spec.patient_explanation for c in knowledge.red_flags)) <= MAX_GRADE
    for red_flag in knowledge.red_flags:
        assert grade(red_flag.spec.patient_explanation) <= MAX_GRADE, red_flag.spec.id
    assert grade(knowledge.fallback.spec.patient_explanation) <= MAX_GRADE
    for condition in view.conditions.conditions:
        assert grade(condition.text) <= MAX_GRADE, condition.id


@pytest.mark.parametrize("patient", PATIENTS, ids=lambda p: f"age{p['age']}-slip{p['slip_grade']}")
def test_each_handout_section(patient):
    sections = handout_content(patient, {"keep_movement": 3}, aid=AID).section_texts()
    assert len(sections) >= 3
    for title, text in sections.items():
        assert grade(text) <= MAX_GRADE, title


def test_the_urgent_texts_and_what_could_change_a_verdict():
    """What a patient with an urgent referral reads (what happens next, what to do if worse), and
    how a verdict a missing answer could change is said."""
    s = VIEW.statements
    for text in (s.urgent.worse, *(step.text for step in s.urgent.next), s.so_far.nothing_yet):
        assert grade(text) <= MAX_GRADE, text
    for test in s.so_far.tests.values():
        for template in (s.so_far.could_change, s.so_far.could_also_change):
            text = template.format(thing=test)
            assert grade(text) <= MAX_GRADE, text
    asks = by_test(
        MissingInformation(field=name, why="", options=["fusion"], test=spec.test)
        for name, spec in fields().items()
        if spec.nullable and name in PatientFactors.model_fields
    )
    every = VIEW._could_change(asks)  # every test and every fact asked at once: the longest it can be
    assert grade(every) <= MAX_GRADE, every
