"""Hypothesis strategies: valid patients across every field's range (nulls included)."""

from __future__ import annotations

import functools
from typing import Any

from hypothesis import strategies as st

from decision_aid.knowledge.fields import FieldSpec, fields

RED_FLAG_DEFAULTS = {
    "cauda_equina_syndrome": False,
    "suspected_infection": False,
    "suspected_tumour": False,
    "suspected_fracture": False,
}


def values_of(spec: FieldSpec) -> st.SearchStrategy[Any]:
    if spec.kind in ("string", "boolean"):
        base = st.sampled_from(spec.values)
    elif spec.kind == "integer":
        base = st.integers(int(spec.minimum), int(spec.maximum))
    else:
        # one decimal as entered in clinic (exact thresholds reachable), and any float
        # (tiny values such as 1e-05 once crashed durable-rules' JSON parser)
        base = st.one_of(
            st.integers(int(spec.minimum * 10), int(spec.maximum * 10)).map(lambda v: v / 10),
            st.floats(spec.minimum, spec.maximum, allow_nan=False, allow_infinity=False),
        )
    return st.one_of(st.none(), base) if spec.nullable else base


@functools.cache
def _field_values() -> dict[str, st.SearchStrategy[Any]]:
    """Each field's strategy, built once (building ~40 strategies for every example cost as much
    as drawing from them)."""
    return {name: values_of(spec) for name, spec in fields().items()}


@st.composite
def patients(draw: st.DrawFn, red_flags: bool | None = False, version_2: bool = True) -> dict[str, Any]:
    """A valid patient dict. red_flags: False = none, True = at least one, None = either.
    version_2=False: a version-1 patient (none of the fields the contract's version 2 adds)."""
    out = {name: draw(values) for name, values in _field_values().items()}
    out["symptom_duration_weeks"] = draw(st.integers(0, 600))
    out["conservative_care_weeks"] = draw(st.integers(0, out["symptom_duration_weeks"]))
    if out["slip_grade"] == 0:
        out["slip_type"] = draw(st.sampled_from(["none", "isthmic"]))
    else:
        out["slip_type"] = draw(st.sampled_from(["degenerative", "isthmic"]))
    if out["prior_fusion"] == "none":
        out["adjacent_segment_disease"] = False
        out["months_since_fusion"] = None
    _version_2_repairs(draw, out)
    if red_flags is False:
        out.update(RED_FLAG_DEFAULTS)
        out["motor_deficit"] = draw(st.sampled_from(["none", "stable"]))
    elif red_flags is True:
        flag = draw(st.sampled_from([*RED_FLAG_DEFAULTS, "motor_deficit"]))
        out[flag] = draw(st.sampled_from(["severe", "progressive"])) if flag == "motor_deficit" else True
    patient = {k: v for k, v in out.items() if v is not None}
    if not version_2:
        patient = {k: v for k, v in patient.items() if k not in VERSION_2_FIELDS}
    return patient


# The fields contract.md adds in "Version 2 additions": a version-1 patient has none of them.
VERSION_2_FIELDS = (
    "leg_symptom_pattern",
    "flexion_relief",
    "prior_index_surgery",
    "prior_motion_implant",
    "motion_implant_state",
    "slip_direction",
    "slip_levels",
)


def _version_2_repairs(draw: st.DrawFn, out: dict[str, Any]) -> None:
    """Make the version 2 fields fit the contract's cross-field checks (drawn again, or left unknown)."""
    if not out["leg_pain"]:
        out["leg_symptom_pattern"] = out["flexion_relief"] = None
    if out["prior_decompression"]:
        if out["prior_index_surgery"] == "none":
            out["prior_index_surgery"] = draw(
                st.sampled_from([None, "discectomy", "laminotomy", "laminectomy", "facetectomy"])
            )
    elif out["prior_index_surgery"] not in (None, "none") or out["disc_herniation"] == "recurrent":
        out["prior_index_surgery"] = draw(st.sampled_from([None, "none"]))
        if out["disc_herniation"] == "recurrent":
            out["prior_index_surgery"] = None
    if out["prior_motion_implant"] == "none":
        out["motion_implant_state"] = None
    if out["slip_grade"] == 0:
        out["slip_direction"] = out["slip_levels"] = None
    else:
        if out["slip_direction"] == "retro" and out["slip_type"] != "degenerative":
            out["slip_direction"] = draw(st.sampled_from([None, "antero"]))
        if out["slip_levels"] is not None and out["slip_levels"] > out["levels"]:
            out["slip_levels"] = draw(st.integers(1, out["levels"]))
