"""Cohort files (JSONL, CSV, Parquet): the same patients from each, and clear errors naming the column
and the row for what is not a cohort."""

from __future__ import annotations

import json
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from decision_aid.cohorts.runner import run_cohort
from decision_aid.cohorts.sources import CohortError, read_cohort
from decision_aid.knowledge.fields import fields
from decision_aid.models import parse_factors
from tests.cohort_support import cohort_records, columns_of, write_csv, write_jsonl, write_parquet

CLI = [sys.executable, "-m", "decision_aid"]
# Fields found by their declaration, never by name: one required integer, one nullable number, one
# nullable yes/no, one text field with a default that may not be null.
REQUIRED_INT = next(n for n, s in fields().items() if s.kind == "integer" and not s.nullable and n != "levels")
NULLABLE_NUMBER = next(n for n, s in fields().items() if s.kind == "number" and s.nullable)
NULLABLE_BOOL = next(n for n, s in fields().items() if s.kind == "boolean" and s.nullable)
DEFAULTED_TEXT = next(n for n, s in fields().items() if s.kind == "string" and not s.nullable)


@pytest.fixture
def files(tmp_path):
    records = cohort_records(200)
    write_jsonl(tmp_path / "c.jsonl", records)
    write_csv(tmp_path / "c.csv", columns_of(records))
    write_parquet(tmp_path / "c.parquet", columns_of(records))
    return tmp_path, records


def patients_of(path, **options):
    return [(r.id, r.performed, parse_factors(r.patient), r.problems) for r in read_cohort(path, **options)]


def test_jsonl_csv_and_parquet_give_the_same_rows(files):
    folder, records = files
    jsonl = patients_of(folder / "c.jsonl")
    assert jsonl == patients_of(folder / "c.csv") == patients_of(folder / "c.parquet")
    assert [row[:2] for row in jsonl] == [(r["id"], r["performed"]) for r in records]
    assert not any(row[3] for row in jsonl)


@pytest.mark.slow  # 600 assessments
def test_jsonl_csv_and_parquet_give_the_same_results(files):
    folder, _ = files
    runs = [list(run_cohort(read_cohort(folder / name), workers=1)) for name in ("c.jsonl", "c.csv", "c.parquet")]
    assert runs[0] == runs[1] == runs[2] and all(o.ok for o in runs[0])


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_a_left_out_column_is_the_field_left_out(tmp_path, kind):
    records = cohort_records(3)
    path = tmp_path / f"c.{kind}"
    write = write_csv if kind == "csv" else write_parquet
    write(path, columns_of(records, leave_out=(NULLABLE_NUMBER, DEFAULTED_TEXT, "performed")))
    rows = list(read_cohort(path))
    assert all(NULLABLE_NUMBER not in r.patient and DEFAULTED_TEXT not in r.patient for r in rows)
    assert all(r.performed is None for r in rows)
    default = parse_factors(rows[0].patient).model_dump()[DEFAULTED_TEXT]
    assert default == type(parse_factors(rows[0].patient)).model_fields[DEFAULTED_TEXT].default


@pytest.mark.parametrize("kind", ["csv", "parquet"])
@pytest.mark.parametrize("column", [REQUIRED_INT, "id"])
def test_a_missing_required_column_is_an_error_naming_it(tmp_path, kind, column):
    path = tmp_path / f"c.{kind}"
    (write_csv if kind == "csv" else write_parquet)(path, columns_of(cohort_records(2), leave_out=(column,)))
    with pytest.raises(CohortError, match=rf"{path}: missing column {column} \("):
        read_cohort(path)


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_an_unknown_column_is_an_error_naming_it(tmp_path, kind):
    columns = columns_of(cohort_records(2))
    columns[REQUIRED_INT + "s"] = columns[REQUIRED_INT]
    path = tmp_path / f"c.{kind}"
    if kind == "csv":
        write_csv(path, columns)
    else:
        write_parquet(path, columns, {REQUIRED_INT + "s": pa.int64()})
    with pytest.raises(CohortError, match=rf"unknown column {REQUIRED_INT}s; did you mean '{REQUIRED_INT}'\?"):
        read_cohort(path)


def test_a_performed_column_asked_for_must_be_there_and_is_read(tmp_path):
    columns = columns_of(cohort_records(4))
    columns["procedure"] = columns.pop("performed")
    write_csv(tmp_path / "c.csv", columns)
    with pytest.raises(CohortError, match="unknown column procedure"):
        read_cohort(tmp_path / "c.csv")
    assert [r.performed for r in read_cohort(tmp_path / "c.csv", performed="procedure")] == [
        None,
        None,
        None,
        "fusion",
    ]
    write_csv(tmp_path / "d.csv", columns_of(cohort_records(2), leave_out=("performed",)))
    with pytest.raises(CohortError, match="missing column procedure"):
        read_cohort(tmp_path / "d.csv", performed="procedure")


def test_csv_cells_are_read_by_the_fields_type_and_a_wrong_one_names_column_and_row(tmp_path):
    columns = columns_of(cohort_records(5))
    columns[REQUIRED_INT][2] = "abc"
    columns[NULLABLE_BOOL][3] = "yes"
    columns[NULLABLE_NUMBER][1] = ""
    lowest = fields()[NULLABLE_NUMBER].minimum
    columns[NULLABLE_NUMBER][4] = f"{lowest / 10}e1"  # exponent notation
    columns[DEFAULTED_TEXT][0] = ""
    write_csv(tmp_path / "c.csv", columns)
    rows = list(read_cohort(tmp_path / "c.csv"))
    assert rows[1].patient[NULLABLE_NUMBER] is None and not rows[1].problems
    assert rows[4].patient[NULLABLE_NUMBER] == pytest.approx(lowest)
    (problem,) = rows[2].problems
    assert problem.startswith(f'{REQUIRED_INT}: got "abc", not an integer; allowed: an integer from ')
    assert problem.endswith("(row 3)")
    assert rows[3].problems == (
        f'{NULLABLE_BOOL}: got "yes"; allowed: true or false (or an empty cell: not known) (row 4)',
    )
    outcomes = list(run_cohort(rows, workers=1))
    assert outcomes[0].problems[0].startswith(f"{DEFAULTED_TEXT}: ")  # null where the contract allows none
    assert [o.row for o in outcomes if not o.ok] == [1, 3, 4]


def test_parquet_cells_keep_their_type_and_a_wrong_one_names_the_column(tmp_path):
    columns = columns_of(cohort_records(3))
    columns[REQUIRED_INT] = [str(v) for v in columns[REQUIRED_INT]]
    columns[REQUIRED_INT][1] = "abc"
    columns[NULLABLE_BOOL] = [1.0, None, 0.0]
    write_parquet(tmp_path / "c.parquet", columns, {REQUIRED_INT: pa.string(), NULLABLE_BOOL: pa.float64()})
    rows = list(read_cohort(tmp_path / "c.parquet"))
    assert rows[1].problems == (rows[1].problems[0],) and rows[1].problems[0].startswith(f'{REQUIRED_INT}: got "abc"')
    assert rows[1].problems[0].endswith("(row 2)")
    outcomes = list(run_cohort(rows, workers=1))
    assert outcomes[0].problems[0].startswith(f"{NULLABLE_BOOL}: ") and "true or false" in outcomes[0].problems[0]
    assert outcomes[2].problems[0].startswith(f"{NULLABLE_BOOL}: ")
    assert outcomes[1].row == 2 and not outcomes[1].ok


def test_jsonl_ids_performed_and_bad_lines(tmp_path):
    patient = cohort_records(1)[0]["patient"]
    lines = [
        json.dumps({"id": 7, "patient": patient}),
        json.dumps({"id": "a", "performed": "fusion", "patient": patient}),
        "",
        "{bad json",
        json.dumps({"patient": patient}),
        json.dumps({"id": "b", "performed": 3, "patient": patient, "extra": 1}),
        json.dumps({"id": "c", "patient": [1]}),
        json.dumps({"id": True, "patient": patient}),
        "",
        "",
    ]
    (tmp_path / "c.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    rows = list(read_cohort(tmp_path / "c.jsonl"))
    assert [(r.id, r.performed) for r in rows[:2]] == [("7", None), ("a", "fusion")]
    assert [r.id for r in rows] == ["7", "a", "line 3", "line 4", "line 5", "b", "c", "line 8"]
    assert rows[2].problems == ("(row): line 3 is empty",)
    assert rows[3].problems[0].startswith("(row): not valid JSON") and rows[3].problems[0].endswith("(line 4)")
    assert rows[4].problems == ("id: missing; expected text or an integer (line 5)",)
    assert rows[5].problems == (
        "performed: got 3; expected text or null (line 6)",
        "extra: unknown key (a row has id, performed and patient) (line 6)",
    )
    assert rows[6].problems == ("patient: got a list; expected an object (line 7)",)
    assert rows[7].problems == ("id: got true; expected text or an integer (line 8)",)
    assert [r.performed for r in read_cohort(tmp_path / "c.jsonl", performed="performed")][:2] == [None, "fusion"]


@pytest.mark.parametrize("name", ["missing.csv", "folder", "c.txt", "bad.parquet"])
def test_a_file_that_is_not_a_readable_cohort_is_an_error_naming_it(tmp_path, name):
    (tmp_path / "folder").mkdir()
    (tmp_path / "c.txt").write_text("x")
    (tmp_path / "bad.parquet").write_bytes(b"not parquet")
    with pytest.raises(CohortError, match=f"cannot read {tmp_path / name}"):
        read_cohort(tmp_path / name)


def run_cli(*args):
    return subprocess.run([*CLI, "cohort", "run", *map(str, args)], capture_output=True, text=True, timeout=120)


@pytest.mark.slow  # a subprocess per run
def test_cohort_run_on_the_command_line(tmp_path):
    records = cohort_records(6)
    records[2]["patient"] = {**records[2]["patient"], REQUIRED_INT: -1}
    write_jsonl(tmp_path / "c.jsonl", records)
    done = run_cli(tmp_path / "c.jsonl", "-o", tmp_path / "out.parquet", "--workers", "1")
    assert done.returncode == 2, done.stderr
    assert "assessed 5, invalid 1, failed 0" in done.stderr
    table = pq.read_table(tmp_path / "out.parquet")
    assert table.column("id").to_pylist() == [r["id"] for r in records]
    assert table.column("problems").to_pylist()[2][0].startswith(f"{REQUIRED_INT}: ")
    assert table.column("assessment").to_pylist()[2] is None
    first = json.loads(table.column("assessment").to_pylist()[0])
    assert {o: a["verdict"] for o, a in first["options"].items()} == {
        o: table.column(o).to_pylist()[0] for o in first["options"]
    }
    done = run_cli(tmp_path / "c.jsonl", "--jurisdiction", "us")
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert lines[0]["id"] == "r1" and lines[0]["assessment"]["jurisdiction"] == "us"
    assert lines[2]["row"] == 3 and lines[2]["problems"][0].startswith(f"{REQUIRED_INT}: ")
    columns = columns_of(records)
    columns["agee"] = columns["id"]
    write_csv(tmp_path / "c.csv", columns)
    done = run_cli(tmp_path / "c.csv", "-o", tmp_path / "out2.jsonl")
    assert done.returncode == 2 and "unknown column agee" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "out2.jsonl").exists()
    done = run_cli(tmp_path / "nothing.csv")
    assert done.returncode == 2 and f"cannot read {tmp_path / 'nothing.csv'}" in done.stderr
    done = run_cli(tmp_path / "c.jsonl", "-o", tmp_path / "no" / "out.jsonl")
    assert done.returncode == 1 and "does not exist" in done.stderr


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_every_problem_of_a_csv_or_parquet_row_names_the_row(tmp_path, kind):
    """Problems the contract finds (not only those found while reading) name the column and the row."""
    columns = columns_of(cohort_records(3))
    columns[DEFAULTED_TEXT][1] = None  # null where the contract allows none: found by the contract
    columns[REQUIRED_INT][2] = 10_000  # out of range: found by the contract
    path = tmp_path / f"c.{kind}"
    (write_csv if kind == "csv" else write_parquet)(path, columns)
    outcomes = list(run_cohort(read_cohort(path), workers=1, missing=False))
    assert outcomes[0].ok
    assert outcomes[1].problems and all(p.endswith("(row 2)") for p in outcomes[1].problems), outcomes[1].problems
    assert outcomes[1].problems[0].startswith(f"{DEFAULTED_TEXT}: ")
    assert outcomes[2].problems and all(p.endswith("(row 3)") for p in outcomes[2].problems), outcomes[2].problems
    assert outcomes[2].problems[0].startswith(f"{REQUIRED_INT}: ")


@pytest.mark.parametrize("broken", ["missing", "not_a_base", "bad_yaml"])
def test_an_invalid_rules_folder_exits_2_naming_it(tmp_path, capsys, broken):
    from decision_aid.cli import main

    write_jsonl(tmp_path / "c.jsonl", cohort_records(2))
    rules = tmp_path / "rules"
    if broken != "missing":
        rules.mkdir()
        (rules / "knowledge.yaml").write_text("version: [\n" if broken == "bad_yaml" else 'version: "1"\n')
    assert main(["cohort", "run", str(tmp_path / "c.jsonl"), "--rules", str(rules)]) == 2
    err = capsys.readouterr().err
    assert f"rules folder {rules}" in err and "Traceback" not in err
