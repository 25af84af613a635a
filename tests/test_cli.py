"""The command line as a user runs it: exit codes, formats, errors without tracebacks.

Most tests run it in this process (tests/cli_support.py); the ones about the process itself (the
interpreter's exit code, `python -m decision_aid`, what a fresh interpreter imports, the process
pool) start a real one and are marked slow.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from decision_aid.models import OPTIONS
from tests.cli_support import run_cli

DATA = Path(__file__).resolve().parent.parent / "examples"
EXAMPLES = sorted(DATA.glob("*.json"))
CLI = [sys.executable, "-m", "decision_aid"]
VALID = json.loads((DATA / "grade1-degenerative-stenosis.json").read_text())


def process(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    """A real `python -m decision_aid` process (for the tests about the process itself)."""
    return subprocess.run([*CLI, *args], input=stdin, capture_output=True, text=True, timeout=120)


@pytest.fixture
def run(capfdbinary):
    """`decision-aid ARGS` run in this process (tests/cli_support.py)."""
    return lambda *args, stdin="": run_cli(capfdbinary, *args, stdin=stdin)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_assess_json_gives_a_contract_shaped_assessment(example, run):
    done = run("assess", str(example), "--format", "json")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert set(out) == {
        "urgent_referral",
        "alerts",
        "options",
        "findings",
        "missing_information",
        "knowledge_version",
        "jurisdiction",
    }
    assert out["jurisdiction"] == "uk"
    assert list(out["options"]) == list(OPTIONS)
    for result in out["options"].values():
        assert set(result) == {"verdict", "reasons", "notes"} and result["reasons"]
        for reason in result["reasons"]:
            assert set(reason) == {"rule_id", "effect", "explanation", "patient_explanation", "evidence"}


def test_assess_text_is_a_readable_summary(run):
    done = run("assess", str(DATA / "cauda-equina.json"))
    assert done.returncode == 0
    assert "URGENT REFERRAL" in done.stdout and "emergency" in done.stdout.lower()
    assert "suspended: urgent referral" in done.stdout


def test_assess_reads_standard_input(run):
    done = run("assess", "-", "--format", "json", stdin=json.dumps(VALID))
    assert done.returncode == 0
    assert json.loads(done.stdout)["options"]["decompression_alone"]["verdict"] == "worth_discussing"


@pytest.mark.parametrize(
    "patch, field",
    [
        ({"age": "63"}, "age"),
        ({"leg_pain": 1}, "leg_pain"),
        ({"stenosis": "very"}, "stenosis"),
        ({"bmi": 200}, "bmi"),
        ({"surname": "Smith"}, "surname"),
        ({"slip_type": "none"}, "slip_type"),
        ({"conservative_care_weeks": 60}, "conservative_care_weeks"),
        ({"adjacent_segment_disease": True}, "adjacent_segment_disease"),
        ({"months_since_fusion": 3}, "months_since_fusion"),
        # version 2 (contract.md, "Version 2 additions")
        ({"leg_pain": False, "leg_symptom_pattern": "claudication"}, "leg_symptom_pattern"),
        ({"prior_index_surgery": "laminectomy"}, "prior_index_surgery"),
        ({"motion_implant_state": "mechanical_failure"}, "motion_implant_state"),
        ({"slip_direction": "retro", "slip_type": "isthmic"}, "slip_direction"),
        ({"slip_levels": 3}, "slip_levels"),
        ({"prior_motion_implant": "coflex"}, "prior_motion_implant"),
        ({"jurisdiction": "us"}, "jurisdiction"),
    ],
)
def test_invalid_input_exits_2_naming_the_field_without_traceback(patch, field, run):
    done = run("assess", "-", stdin=json.dumps({**VALID, **patch}))
    assert done.returncode == 2
    assert f"invalid input: {field}:" in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""


def test_a_missing_required_field_and_bad_json_exit_2(run):
    without_age = {k: v for k, v in VALID.items() if k != "age"}
    assert "age: required" in run("assess", "-", stdin=json.dumps(without_age)).stderr
    done = run("assess", "-", stdin="{not json")
    assert done.returncode == 2 and "not valid JSON" in done.stderr


def test_a_missing_file_exits_2_naming_it(run):
    done = run("assess", "/nonexistent/patient.json")
    assert done.returncode == 2
    assert done.stderr == "error: cannot read /nonexistent/patient.json: No such file or directory\n"


def test_batch_keeps_order_reports_bad_lines_and_goes_on(tmp_path, run):
    lines = [
        json.dumps(VALID),
        "{bad json",
        json.dumps({**VALID, "age": 5}),
        "",
        json.dumps({**VALID, "cauda_equina_syndrome": True}),
    ]
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out.jsonl"
    done = run("batch", str(source), "-o", str(out))
    assert done.returncode == 2
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 5
    assert rows[0]["options"]["decompression_alone"]["verdict"] == "worth_discussing"
    assert rows[1]["line"] == 2 and "JSON" in rows[1]["error"]
    assert rows[2] == {"line": 3, "error": rows[2]["error"]} and "age" in rows[2]["error"]
    assert rows[3]["line"] == 4
    assert rows[4]["urgent_referral"] is True
    assert "5/5" in done.stderr  # progress


@pytest.mark.slow
def test_batch_through_the_process_pool_matches_single_assessments(tmp_path):
    from decision_aid import assess
    from decision_aid.samples import random_patients

    patients = random_patients(300, seed=11)
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(p) + "\n" for p in patients))
    done = process("batch", str(source), "--workers", "2")
    assert done.returncode == 0, done.stderr
    expected = [assess(p).model_dump_json() for p in patients]
    assert done.stdout.splitlines() == expected


def test_schema_prints_the_input_json_schema(run):
    done = run("schema")
    assert done.returncode == 0
    schema = json.loads(done.stdout)
    assert schema["additionalProperties"] is False
    assert {"age", "back_pain", "leg_pain", "symptom_duration_weeks", "levels", "slip_grade"} <= set(schema["required"])


@pytest.mark.slow  # a fresh interpreter
def test_the_cli_does_not_import_streamlit():
    code = "import sys; from decision_aid.cli import main; main(['schema']); assert 'streamlit' not in sys.modules"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_non_utf8_input_and_a_directory_exit_2(tmp_path, run):
    binary = tmp_path / "patient.json"
    binary.write_bytes(b"\xff\xfe{")
    done = run("assess", str(binary))
    assert done.returncode == 2 and "not UTF-8" in done.stderr
    done = run("assess", str(tmp_path))
    assert done.returncode == 2 and f"cannot read {tmp_path}" in done.stderr and "Traceback" not in done.stderr


# ---- the real process: `python -m decision_aid`, its exit code and its pipes ----------------------


@pytest.mark.slow  # a real interpreter each
def test_the_module_runs_as_a_process_with_the_contracts_exit_codes(tmp_path):
    done = process("assess", str(DATA / "grade1-degenerative-stenosis.json"), "--format", "json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["options"]["decompression_alone"]["verdict"] == "worth_discussing"
    done = process("assess", "-", stdin=json.dumps({**VALID, "stenosis": "very"}))
    assert done.returncode == 2 and "invalid input: stenosis:" in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
    done = process("assess", "/nonexistent/patient.json")
    assert done.returncode == 2
    assert done.stderr == "error: cannot read /nonexistent/patient.json: No such file or directory\n"
    done = process("assess", str(DATA / "grade1-degenerative-stenosis.json"), "--format", "yaml")
    assert done.returncode == 1 and "invalid choice" in done.stderr  # a usage error
