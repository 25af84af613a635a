"""Fuzz `assess()` with arbitrary JSON-like values around the schema (run in a subprocess by
tests/test_hostile_input.py, so that an interpreter crash is seen as one).

Every call must return an assessment or raise the package's input error; anything else is
printed and the process exits 1. `python -m tests.hostile_fuzz N` runs N examples.
"""

from __future__ import annotations

import json
import sys

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from decision_aid import Assessment, InputError, assess
from decision_aid.models import PatientFactors

FIELDS = sorted(PatientFactors.model_fields)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(-(10**60), 10**60),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(-200, 3000),
    st.text(max_size=30),
    st.sampled_from(["none", "mild", "severe", "degenerative", "isthmic", "L4-L5", "solid", "progressive"]),
)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner))
keys = st.one_of(st.sampled_from(FIELDS), st.text(max_size=12))
patients = st.one_of(
    st.dictionaries(keys, values, max_size=len(FIELDS) + 3),
    st.dictionaries(st.sampled_from(FIELDS), scalars, max_size=6),  # known fields only: reaches the engine
)
valid_core = st.fixed_dictionaries(
    {
        "age": st.integers(18, 110),
        "back_pain": st.booleans(),
        "leg_pain": st.booleans(),
        "symptom_duration_weeks": st.integers(0, 2600),
        "levels": st.integers(1, 5),
        "slip_grade": st.just(0),
    }
)


def _as_text(patient: dict, repeat: str | None) -> str:
    text = json.dumps(patient, allow_nan=True)
    if repeat is not None and len(patient) > 0:
        text = text[:-1] + (", " if patient else "") + json.dumps(repeat) + ": true}"
    return text


@settings(
    max_examples=int(sys.argv[1]) if len(sys.argv) > 1 else 300,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@given(core=valid_core, extra=patients, repeat=st.none() | st.sampled_from(FIELDS), as_text=st.booleans())
def check(core: dict, extra: dict, repeat: str | None, as_text: bool) -> None:
    patient = core | extra
    given_value = _as_text(patient, repeat) if as_text else patient
    try:
        result = assess(given_value)
    except InputError as error:
        assert all(len(str(p)) < 600 for p in error.problems), error.problems
        return
    assert isinstance(result, Assessment)


if __name__ == "__main__":
    check()
    print("fuzz: ok")
