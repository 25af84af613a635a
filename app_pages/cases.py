"""The teaching-case library, loaded once per process for the Teaching and Explore pages."""

from __future__ import annotations

import streamlit as st

from decision_aid.teaching import Case, load_cases

CONSULTATION = "The patient on the Consultation page"


@st.cache_resource
def library() -> list[Case]:
    return load_cases()


def patients() -> dict[str, dict]:
    """Patients to start from: the Consultation page's patient (if any), then every teaching case."""
    out = {}
    patient = st.session_state.get("patient")
    if isinstance(patient, dict) and patient:
        out[CONSULTATION] = dict(patient)
    for case in library():
        out[f"Teaching case: {case.title}"] = dict(case.spec.factors)
    return out
