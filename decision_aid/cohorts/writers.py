"""Cohort results to a file: JSONL (one line per row) or Parquet (one row per row), in order.

JSONL: `{"id": ..., "performed": ..., "assessment": {...}}` for an assessed row (the
assessment exactly as `decision-aid assess --format json` gives it, on one line), or
`{"id": ..., "performed": ..., "row": N, "problems": [...]}` for a row that could not be.

Parquet: columns `id`, `performed`, one verdict column per option (null for an invalid row),
`knowledge_version`, `jurisdiction`, `problems` (a list of text) and `assessment` (its JSON);
written a row group at a time as results come in, so memory stays flat.

Both are written through decision_aid.atomic_file: the file appears only when the run has
finished, and a run that stops early leaves no complete-looking file (and an existing one as
it was).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, BinaryIO

from decision_aid.atomic_file import AtomicFile
from decision_aid.cohorts.rows import Outcome
from decision_aid.models import OPTIONS

GROUP_ROWS = 10_000  # rows per Parquet row group


def is_parquet(path: str | Path) -> bool:
    return Path(path).suffix.lower() in (".parquet", ".pq")


def jsonl_line(outcome: Outcome) -> bytes:
    head = f'{{"id": {json.dumps(outcome.id)}, "performed": {json.dumps(outcome.performed)}, '
    if outcome.problems:
        tail = f'"row": {outcome.row}, "problems": {json.dumps(outcome.problems)}}}'
    else:
        tail = f'"assessment": {outcome.json}}}'
    return (head + tail + "\n").encode("utf-8")


def write_jsonl(outcomes: Iterable[Outcome], out: BinaryIO, each: Callable[[Outcome], None]) -> None:
    """Every outcome to `out`; `each(outcome)` is called just before its line is written."""
    for outcome in outcomes:
        data = jsonl_line(outcome)
        each(outcome)
        out.write(data)


def write_parquet(outcomes: Iterable[Outcome], path: str | Path, each: Callable[[Outcome], None]) -> None:
    """Every outcome to a new Parquet file at `path`, which appears only once it is complete."""
    import pyarrow.parquet as pq

    schema = parquet_schema()
    with AtomicFile(path) as out:
        writer = pq.ParquetWriter(out, schema)
        try:
            group: list[Outcome] = []
            for outcome in outcomes:
                each(outcome)
                group.append(outcome)
                if len(group) >= GROUP_ROWS:
                    writer.write_table(_table(group, schema))
                    group = []
            if group:
                writer.write_table(_table(group, schema))
        except BaseException:
            _close_quietly(writer)  # the temporary file is removed next: nothing complete-looking is left
            raise
        writer.close()


def parquet_schema() -> Any:
    import pyarrow as pa

    columns = [("id", pa.string()), ("performed", pa.string())]
    columns += [(option, pa.string()) for option in OPTIONS]
    columns += [
        ("knowledge_version", pa.string()),
        ("jurisdiction", pa.string()),
        ("problems", pa.list_(pa.string())),
        ("assessment", pa.string()),
    ]
    return pa.schema(columns)


def _table(group: list[Outcome], schema: Any) -> Any:
    import pyarrow as pa

    columns: dict[str, list[Any]] = {name: [] for name in schema.names}
    for outcome in group:
        columns["id"].append(outcome.id)
        columns["performed"].append(outcome.performed)
        columns["problems"].append(outcome.problems)
        columns["assessment"].append(outcome.json)
        assessment = outcome.assessment
        for option in OPTIONS:
            columns[option].append(assessment.options[option].verdict if assessment else None)
        columns["knowledge_version"].append(assessment.knowledge_version if assessment else None)
        columns["jurisdiction"].append(assessment.jurisdiction if assessment else None)
    return pa.Table.from_pydict(columns, schema=schema)


def _close_quietly(writer: Any) -> None:
    try:
        writer.close()
    except Exception:
        pass
