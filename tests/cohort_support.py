"""What the cohort tests share: a small seeded cohort with invalid rows of every kind."""

from __future__ import annotations

import json
from typing import Any

from decision_aid.cohorts.rows import CohortRow
from decision_aid.samples import random_patients
from tests.conftest import variant

SEED = 4242


def patients(count: int = 46) -> list[dict[str, Any]]:
    """Seeded random valid patients, with a red-flag patient and a grade 2 slip among them."""
    return [*random_patients(count - 2, seed=SEED), variant("red_flag"), variant(slip_grade=2, slip_type="isthmic")]


def small_cohort(count: int = 46) -> list[CohortRow]:
    """`count` valid patients (as dicts and as JSON text) and four invalid rows, ids p1, p2, ..."""
    rows = [
        CohortRow(f"p{n}", "fusion" if n % 3 == 0 else None, p if n % 2 else json.dumps(p).encode())
        for n, p in enumerate(patients(count), start=1)
    ]
    invalid = [
        CohortRow("bad-json", None, b"{not json"),
        CohortRow("bad-field", None, {**patients(1)[0], "age": 7}),
        CohortRow("empty", None, b"  "),
        CohortRow("read-problem", "fusion", {}, ('odi: row 9: "x" is not an integer',)),
    ]
    for offset, row in enumerate(invalid):
        rows.insert(5 + offset * 11, row)
    return rows
