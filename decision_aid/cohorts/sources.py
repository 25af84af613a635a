"""Cohorts read from files: JSONL, CSV or Parquet, one patient per row, streamed.

- JSONL (`.jsonl`, `.ndjson`): one object per line, `{"id": ..., "performed": ..., "patient": {...}}`
  (`performed` optional; `id` text or an integer). Trailing blank lines are not rows.
- CSV (`.csv`) and Parquet (`.parquet`, `.pq`): the columns are the contract's fields, `id`
  and, optionally, the performed column. A column left out is a field left out of every
  row (its default: null for a field that may be unknown); a required field's column, `id`
  and a performed column asked for by name must be there. Any other column is an error
  naming it. A CSV cell is read by its field's declared type (rules/fields.yaml and the
  contract model, never a list of names here), an empty cell meaning null; a Parquet cell
  keeps its own type, and a text cell in a number or yes/no column is read as in CSV.

A row that cannot be read as a patient (bad JSON, a cell of the wrong type) becomes a row
with `problems` naming the column and the row, and the run goes on; a file that is not a
cohort at all (unreadable, an unknown or missing column) raises CohortError naming the path
and the column before any row is read. CSV and Parquet are read with pyarrow a record batch
at a time, never whole.
"""

from __future__ import annotations

import csv
import difflib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from decision_aid.cohorts.rows import CohortRow
from decision_aid.errors import DecisionAidError, InputError
from decision_aid.json_text import read_json, show, show_key
from decision_aid.knowledge.fields import FieldSpec, fields
from decision_aid.models import PatientFactors, allowed_values

ID = "id"
PERFORMED = "performed"
PATIENT = "patient"
_BATCH_ROWS = 10_000
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_WORDS = {"true": True, "false": False}


class CohortError(DecisionAidError):
    """The file is not a cohort that can be read (exit 2): the message names the path and the column."""


def read_cohort(path: str | Path, *, performed: str | None = None) -> Iterator[CohortRow]:
    """The cohort's rows in file order. `performed` names the column (JSONL: the key) holding the
    procedure each patient had (default: `performed`, when present).

    The file's layout is checked here, before the first row: CohortError if it is not a cohort.
    """
    path = Path(path)
    kind = path.suffix.lower()
    if not path.is_file():
        raise CohortError(f"cannot read {path}: {'it is a folder' if path.is_dir() else 'no such file'}")
    if kind in (".jsonl", ".ndjson"):
        return _jsonl(path, performed)
    if kind == ".csv":
        return _csv(path, performed)
    if kind in (".parquet", ".pq"):
        return _parquet(path, performed)
    raise CohortError(f"cannot read {path}: a cohort is a .jsonl, .csv or .parquet file")


def cohort_size(path: str | Path) -> int | None:
    """How many rows the cohort has, when that is cheap to know (JSONL, Parquet), else None."""
    path = Path(path)
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            import pyarrow.parquet as pq

            return pq.ParquetFile(path).metadata.num_rows
        if path.suffix.lower() in (".jsonl", ".ndjson"):
            with open(path, "rb") as source:
                return sum(1 for line in source if line.strip())
    except Exception:  # the reader reports what is wrong with the file
        return None
    return None


# ---- JSONL -----------------------------------------------------------------------------------------


def _jsonl(path: Path, performed: str | None) -> Iterator[CohortRow]:
    key = performed or PERFORMED
    try:
        source = open(path, "rb")
    except OSError as error:
        raise CohortError(f"cannot read {path}: {error.strerror or error}") from None
    return _jsonl_rows(source, path, key, required=performed is not None)


def _jsonl_rows(source: Any, path: Path, key: str, required: bool) -> Iterator[CohortRow]:
    blank: list[int] = []  # blank lines are rows only when a row follows them
    with source:
        try:
            for number, line in enumerate(source, start=1):
                if not line.strip():
                    blank.append(number)
                    continue
                for empty in blank:
                    yield CohortRow(f"line {empty}", None, {}, (f"(row): line {empty} is empty",))
                blank.clear()
                yield _jsonl_row(line, number, key, required)
        except OSError as error:
            raise CohortError(f"cannot read {path}: {error.strerror or error}") from None


def _jsonl_row(line: bytes, number: int, key: str, required: bool) -> CohortRow:
    where = f"line {number}"
    try:
        item = read_json(line, "(row)")
    except InputError as error:
        return CohortRow(where, None, {}, tuple(f"{p} ({where})" for p in error.problems))
    if not isinstance(item, dict):
        return CohortRow(where, None, {}, (f"(row): {where} must be an object with id and patient",))
    problems = []
    row_id = item.get(ID)
    if isinstance(row_id, str) and row_id or type(row_id) is int:
        row_id = str(row_id)
    else:
        problems.append(f"{ID}: {'missing' if row_id is None else f'got {show(row_id)}'}; expected text or an integer")
        row_id = where
    done = item.get(key)
    if done is not None and not isinstance(done, str):
        problems.append(f"{key}: got {show(done)}; expected text or null")
    elif key not in item and required:
        problems.append(f"{key}: missing (the procedure performed, or null)")
    patient = item.get(PATIENT)
    if not isinstance(patient, dict):
        problems.append(f"{PATIENT}: {'missing' if patient is None else f'got {show(patient)}'}; expected an object")
    for extra in sorted(set(item) - {ID, key, PATIENT}):
        problems.append(f"{show_key(extra)}: unknown key (a row has {ID}, {key} and {PATIENT})")
    if problems:
        return CohortRow(row_id, done if isinstance(done, str) else None, {}, tuple(f"{p} ({where})" for p in problems))
    return CohortRow(row_id, done, patient)


# ---- CSV and Parquet -------------------------------------------------------------------------------


def _layout(path: Path, names: list[str], performed: str | None) -> tuple[str, dict[str, FieldSpec]]:
    """The performed column's name and the field of each other column; CohortError if not a cohort."""
    declared = fields()
    key = performed or PERFORMED
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise CohortError(f"{path}: column {name} appears twice")
        seen.add(name)
    unknown = [n for n in names if n not in declared and n not in (ID, key)]
    if unknown:
        close = difflib.get_close_matches(unknown[0], [*declared, ID, key], n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise CohortError(
            f"{path}: unknown column {unknown[0]}{hint} (a cohort's columns are {ID}, {key} and the input fields: "
            "decision-aid schema lists them)"
        )
    required = [ID] + ([performed] if performed else [])
    required += [n for n in declared if PatientFactors.model_fields[n].is_required()]
    missing = [n for n in required if n not in names]
    if missing:
        raise CohortError(f"{path}: missing column {missing[0]}" + _why_required(missing[0], key))
    return key, {n: declared[n] for n in names if n in declared}


def _why_required(name: str, key: str) -> str:
    if name == ID:
        return " (each row's identifier)"
    if name == key:
        return " (the procedure each patient had, named by --performed)"
    return f" (a required field: {allowed_values(name)})"


def _rows(
    columns: dict[str, list[Any]], offset: int, key: str, specs: dict[str, FieldSpec], text: bool
) -> Iterator[CohortRow]:
    """One record batch's rows; `text`: cells are CSV text (empty means null)."""
    count = len(next(iter(columns.values()))) if columns else 0
    for i in range(count):
        number = offset + i + 1
        problems: list[str] = []
        patient = {}
        for name, spec in specs.items():
            value = columns[name][i]
            if text and value == "":
                value = None
            elif isinstance(value, str) and (text or spec.kind != "string"):
                value, problem = _from_text(value, spec)
                if problem:
                    problems.append(f"{name}: {problem} (row {number})")
            patient[name] = value
        row_id = columns[ID][i]
        if row_id is None or row_id == "":
            problems.append(f"{ID}: empty (row {number})")
            row_id = f"row {number}"
        done = columns[key][i] if key in columns else None
        done = None if done in (None, "") else str(done)
        yield CohortRow(str(row_id), done, patient, tuple(problems), f"row {number}")


def _from_text(cell: str, spec: FieldSpec) -> tuple[Any, str | None]:
    """A text cell as its field's type: (value, None), or (None, what is wrong)."""
    if spec.kind == "string":
        return cell, None
    if spec.kind == "boolean":
        word = _WORDS.get(cell.strip().lower())
        if word is None:
            return None, f"got {show(cell)}; allowed: true or false (or an empty cell: {_empty(spec)})"
        return word, None
    if not _NUMBER.fullmatch(cell.strip()):
        kind = "an integer" if spec.kind == "integer" else "a number"
        return None, f"got {show(cell)}, not {kind}; allowed: {allowed_values(spec.name)}"
    try:
        if spec.kind == "integer" and re.fullmatch(r"[+-]?\d+", cell.strip()):
            return int(cell), None
        return float(cell), None  # the contract's checks decide (63.0 is an integer, 63.5 is not)
    except ValueError:  # more digits than Python converts
        return None, f"a number out of range; allowed: {allowed_values(spec.name)}"


def _empty(spec: FieldSpec) -> str:
    return "not known" if spec.nullable else "not allowed here"


def _csv(path: Path, performed: str | None) -> Iterator[CohortRow]:
    import pyarrow as pa
    from pyarrow import csv as pacsv

    try:
        with open(path, encoding="utf-8-sig", newline="") as source:
            names = next(csv.reader(source), [])
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise CohortError(f"cannot read {path}: {getattr(error, 'strerror', None) or error}") from None
    if not names:
        raise CohortError(f"cannot read {path}: no header row (a cohort's first row names its columns)")
    key, specs = _layout(path, names, performed)
    options = pacsv.ConvertOptions(
        column_types={n: pa.string() for n in names}, strings_can_be_null=False, quoted_strings_can_be_null=False
    )
    try:
        reader = pacsv.open_csv(path, convert_options=options, read_options=pacsv.ReadOptions(block_size=1 << 22))
    except (OSError, pa.ArrowException) as error:
        raise CohortError(f"cannot read {path}: {error}") from None
    return _batches(reader, path, key, specs, text=True)


def _parquet(path: Path, performed: str | None) -> Iterator[CohortRow]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        source = pq.ParquetFile(path)
    except (OSError, pa.ArrowException) as error:
        raise CohortError(f"cannot read {path}: {error}") from None
    key, specs = _layout(path, source.schema_arrow.names, performed)
    return _batches(source.iter_batches(batch_size=_BATCH_ROWS), path, key, specs, text=False)


def _batches(batches: Any, path: Path, key: str, specs: dict[str, FieldSpec], text: bool) -> Iterator[CohortRow]:
    import pyarrow as pa

    offset = 0
    while True:
        try:
            batch = next(batches)
        except StopIteration:
            return
        except (OSError, pa.ArrowException) as error:
            raise CohortError(f"cannot read {path} after row {offset:,}: {error}") from None
        columns = {name: batch.column(name).to_pylist() for name in batch.schema.names}
        yield from _rows(columns, offset, key, specs, text)
        offset += batch.num_rows
