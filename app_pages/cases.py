"""The patients Explore can start from: the Consultation page's patient (as its form holds it now)
and every teaching case; the teaching-case library is loaded once per process."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from app_pages.consultation_form import ANSWERS
from decision_aid.errors import InputError
from decision_aid.knowledge.labels import field_label
from decision_aid.models import parse_factors
from decision_aid.views.form import NOT_KNOWN, answers_to_factors
from decision_aid.views.teaching import Case, load_cases

CONSULTATION = "The patient on the Consultation page"
# The Consultation page's session key: its form has been assessed (or a patient loaded) since the
# last "New patient"; until then its form holds no patient.
ASSESSED = "assessed"


@dataclass(frozen=True)
class Start:
    """A patient to start from: its factors when valid; for the Consultation page's patient, else the
    problems its form has now (never the last valid patient instead)."""

    factors: dict | None
    problems: tuple[str, ...] = ()


@st.cache_resource
def library() -> list[Case]:
    return load_cases()


def teaching_name(case: Case) -> str:
    return f"Teaching case: {case.title}"


def consultation_patient() -> Start | None:
    """The patient the Consultation page's form holds now; None when it holds none (nothing assessed
    or loaded since the last "New patient")."""
    answers = st.session_state.get(ANSWERS)
    if not st.session_state.get(ASSESSED) or not isinstance(answers, dict):
        return None
    patient, missing = answers_to_factors(answers)
    problems = [f"{field_label(name)}: not answered" for name in missing]
    problems += [  # answered, but not a value the form can use (out of range, say)
        f"{field_label(name)}: not a valid answer"
        for name, value in answers.items()
        if value is not None and value != NOT_KNOWN and name not in patient and name not in missing
    ]
    if problems:
        return Start(None, tuple(problems))
    try:
        return Start(parse_factors(patient).model_dump(mode="json"))
    except InputError as error:
        return Start(None, tuple(f"{field_label(p.field)}: {p.message}" for p in error.problems))


def patients() -> dict[str, Start]:
    """Patients to start from: the Consultation page's patient (if any, valid or not), then every teaching case."""
    out = {}
    consultation = consultation_patient()
    if consultation is not None:
        out[CONSULTATION] = consultation
    for case in library():
        out[teaching_name(case)] = Start(dict(case.spec.factors))
    return out
