"""Seeded random valid patients, for the benchmark and for spot checks.

Every value comes from the field declarations in rules/fields.yaml: numbers are
drawn evenly over the field's plausible range, choices and yes/no answers by
their declared weights, and about a third of the nullable fields are left
unknown. A draw that breaks a cross-field rule of the contract is repaired by
drawing again the field the contract names (or leaving it unknown, where it may
be; after many tries, setting its default), so the patients are valid without any
field being named here.
"""

from __future__ import annotations

import random
from typing import Any

from pydantic import ValidationError

from decision_aid.knowledge.fields import FieldSpec, fields
from decision_aid.models import PatientFactors

_REPAIRS = 50


def random_patient(rng: random.Random, unknown_share: float = 0.3) -> dict[str, Any]:
    patient = {}
    for name, spec in fields().items():
        if spec.nullable and rng.random() < unknown_share:
            continue
        patient[name] = draw(rng, spec)
    for attempt in range(_REPAIRS):
        broken = _cross_field_problems(patient)
        if not broken:
            return patient
        for name in sorted(broken):  # a set of names: sorted, so a seed gives the same patients in every process
            spec, info = fields()[name], PatientFactors.model_fields[name]
            if spec.nullable and rng.random() < 0.5:
                patient.pop(name, None)
            elif attempt >= _REPAIRS // 2 and not info.is_required():
                patient[name] = info.default  # the contract's default (0 weeks of care) always fits
            else:
                patient[name] = draw(rng, spec)
    raise ValueError(f"no valid patient after {_REPAIRS} repairs: {sorted(_cross_field_problems(patient))}")


def random_patients(count: int, seed: int = 20261122) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [random_patient(rng) for _ in range(count)]


def draw(rng: random.Random, spec: FieldSpec) -> Any:
    """One value of a field: by its declared weights, else evenly over its plausible range or values."""
    if spec.sample:
        values, weights = zip(*spec.sample.items(), strict=True)
        return rng.choices(values, weights)[0]
    if spec.kind in ("string", "boolean"):
        return rng.choice(spec.values)
    low, high = spec.plausible or (spec.minimum, spec.maximum)
    if spec.kind == "integer":
        return rng.randint(int(low), int(high))
    return round(rng.uniform(low, high), 1 if spec.decimals is None else spec.decimals)


def _cross_field_problems(patient: dict[str, Any]) -> set[str]:
    """The fields the contract's checks name (a draw stays inside every range, so only
    cross-field rules can fail)."""
    try:
        PatientFactors.model_validate(patient)
    except ValidationError as error:
        return {str(detail["loc"][0]) for detail in error.errors() if detail["loc"]}
    return set()
