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


def cohort_records(count: int = 200) -> list[dict[str, Any]]:
    """JSONL-style records {id, performed, patient} of seeded random patients."""
    return [
        {"id": f"r{n}", "performed": "fusion" if n % 4 == 0 else None, "patient": p}
        for n, p in enumerate(random_patients(count, seed=SEED + 1), start=1)
    ]


def write_jsonl(path, records: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


def columns_of(records: list[dict[str, Any]], leave_out: tuple[str, ...] = ()) -> dict[str, list[Any]]:
    """Column -> values (None where a field is left out), every contract field plus id and performed."""
    from decision_aid.knowledge.fields import fields

    names = ["id", "performed", *fields()]
    return {
        name: [r[name] if name in ("id", "performed") else r["patient"].get(name) for r in records]
        for name in names
        if name not in leave_out
    }


def write_csv(path, columns: dict[str, list[Any]]) -> None:
    import csv

    def cell(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(columns)
        for values in zip(*columns.values(), strict=True):
            writer.writerow([cell(v) for v in values])


def write_parquet(path, columns: dict[str, list[Any]], types: dict[str, Any] | None = None) -> None:
    """Typed by each field's declared kind (integer, number, boolean, text), unless `types` says otherwise."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from decision_aid.knowledge.fields import fields

    kinds = {"integer": pa.int64(), "number": pa.float64(), "boolean": pa.bool_(), "string": pa.string()}
    declared = fields()
    schema = pa.schema(
        [
            (name, (types or {}).get(name) or (kinds[declared[name].kind] if name in declared else pa.string()))
            for name in columns
        ]
    )
    pq.write_table(pa.Table.from_pydict(columns, schema=schema), path, row_group_size=64)
