"""A CSV or Parquet cohort without a column for a red-flag field: the contract's default (no) applies,
and `cohort run`, `audit` and `rules diff --cohort` say so in one line on standard error."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from decision_aid.cli import main
from decision_aid.cohorts.absent_columns import absent_red_flags_warning, red_flag_fields
from decision_aid.knowledge.fields import fields
from decision_aid.knowledge.loader import load
from decision_aid.models import parse_factors
from tests.conftest import edit_rule, variant

# The bundled red flags read these fields (contract.md, "Red flags"), in the contract's order.
RED_FLAG_FIELDS = [
    "motor_deficit",
    "cauda_equina_syndrome",
    "suspected_infection",
    "suspected_tumour",
    "suspected_fracture",
]
LEFT_OUT = ("cauda_equina_syndrome", "motor_deficit")


def table(leave_out: tuple[str, ...] = ()) -> dict[str, list]:
    """Three patients (the base patient, one with back pain only, one with cauda equina) by column."""
    patients = [parse_factors(variant(v)).model_dump(mode="json") for v in ("stenosis", "axial_pain", "red_flag")]
    names = ["id", "performed", *(n for n in fields() if n not in leave_out)]
    return {
        n: [f"p{i}" if n == "id" else "fusion" if n == "performed" else p.get(n) for i, p in enumerate(patients)]
        for n in names
    }


def write_csv(path, columns: dict[str, list]) -> None:
    cell = lambda v: "" if v is None else str(v).lower() if isinstance(v, bool) else str(v)  # noqa: E731
    rows = zip(*columns.values(), strict=True)
    path.write_text("\n".join(",".join(map(cell, row)) for row in [list(columns), *rows]) + "\n")


def warnings(err: str) -> list[str]:
    return [line for line in err.splitlines() if "has no column for" in line]


def test_the_red_flag_fields_are_those_the_red_flags_read():
    assert red_flag_fields([load()]) == RED_FLAG_FIELDS


def test_a_red_flag_reading_another_field_makes_it_a_red_flag_field(kb):
    edit_rule(kb, "red_flags.yaml", "red-flag.cauda-equina", when="cauda_equina_syndrome == true or bmi > 60")
    assert red_flag_fields([load(kb)]) == ["bmi", *RED_FLAG_FIELDS]  # the contract's order
    assert red_flag_fields([load(), load(kb)]) == red_flag_fields([load(kb)])  # a rules diff: both bases


def test_cohort_run_names_the_absent_red_flag_columns_once_and_reads_them_as_no(tmp_path, capsys):
    path = tmp_path / "cohort.csv"
    write_csv(path, table(leave_out=LEFT_OUT))
    assert main(["cohort", "run", str(path), "--workers", "1"]) == 0
    captured = capsys.readouterr()
    (line,) = warnings(captured.err)
    assert line == (
        "warning: the cohort has no column for motor_deficit (read as none), cauda_equina_syndrome: read as no, "
        "the contract's default; if the registry did not record these red flags, its patients are not known to be "
        "free of them"
    )
    results = [json.loads(line) for line in captured.out.splitlines()]
    # the cauda equina patient's column is gone: read as no red flag, as the contract says
    assert [r["assessment"]["urgent_referral"] for r in results] == [False, False, False]


def test_a_cohort_with_every_red_flag_column_or_a_jsonl_cohort_gets_no_warning(tmp_path, capsys):
    path = tmp_path / "cohort.csv"
    write_csv(path, table(leave_out=("bmi",)))  # not a red-flag field
    assert main(["cohort", "run", str(path), "--workers", "1"]) == 0
    captured = capsys.readouterr()
    assert warnings(captured.err) == []
    assert json.loads(captured.out.splitlines()[2])["assessment"]["urgent_referral"] is True
    jsonl = tmp_path / "cohort.jsonl"
    jsonl.write_text(json.dumps({"id": "a", "patient": {k: v for k, v in variant().items() if k not in LEFT_OUT}}))
    assert absent_red_flags_warning(jsonl, [load()]) is None


def test_audit_of_a_parquet_cohort_warns_once(tmp_path, capsys):
    path = tmp_path / "cohort.parquet"
    pq.write_table(pa.table(table(leave_out=("suspected_tumour",))), path)
    assert main(["audit", str(path), "--performed", "performed", "--format", "json"]) == 0
    (line,) = warnings(capsys.readouterr().err)
    assert "no column for suspected_tumour: read as no, the contract's default" in line


def test_rules_diff_with_a_cohort_file_warns_once_for_both_jurisdictions(tmp_path, capsys):
    path = tmp_path / "cohort.csv"
    write_csv(path, table(leave_out=("suspected_infection", "suspected_fracture")))
    assert main(["rules", "diff", str(load().directory), "--cohort", str(path), "--format", "json"]) == 0
    (line,) = warnings(capsys.readouterr().err)
    assert "no column for suspected_infection, suspected_fracture: read as no" in line


@pytest.mark.parametrize("leave_out", [(), LEFT_OUT])
def test_the_warning_follows_the_columns(tmp_path, leave_out):
    path = tmp_path / "cohort.csv"
    write_csv(path, table(leave_out=leave_out))
    warning = absent_red_flags_warning(path, [load()])
    assert (warning is None) == (not leave_out)
