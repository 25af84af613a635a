"""`decision-aid assess --fhir BUNDLE [--answers FILE] [--as-of DATE]`, and the code map's place in
`decision-aid rules check`, run in-process through decision_aid.cli.main."""

from __future__ import annotations

import json

import pytest
import yaml

from decision_aid.cli import main
from tests.fhir_support import FHIR_DATA

RED_FLAG = str(FHIR_DATA / "red_flag.json")
STALE = str(FHIR_DATA / "stale_conflicting.json")
AS_OF = ["--as-of", "2026-12-01"]
ANSWERS = {
    "back_pain": True,
    "leg_pain": True,
    "symptom_duration_weeks": 30,
    "conservative_care_weeks": 20,
    "motor_deficit": "none",
    "suspected_infection": False,
    "suspected_tumour": False,
    "suspected_fracture": False,
    "levels": 1,
    "slip_grade": 0,
}


def write(tmp_path, data, name="answers.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


def test_answers_still_needed_are_listed_and_exit_2(capsys):
    assert main(["assess", "--fhir", RED_FLAG, *AS_OF]) == 2
    out, err = capsys.readouterr()
    assert "cauda equina syndrome: yes (from Condition/ces, SNOMED CT 192970008 Cauda equina syndrome" in out
    assert "Red flags coded in the record: cauda equina syndrome" in out
    needed = [line.split(":")[1].strip() for line in err.splitlines()]
    assert needed == list(ANSWERS)
    assert all("still needed" in line for line in err.splitlines()) and "Traceback" not in err


def test_with_the_answers_it_assesses_and_exits_0(tmp_path, capsys):
    assert main(["assess", "--fhir", RED_FLAG, "--answers", write(tmp_path, ANSWERS), *AS_OF]) == 0
    out, err = capsys.readouterr()
    assert "age (years): 56 (from Patient/example, birth date, 1970-02-03)" in out
    assert "URGENT REFERRAL" in out and f"Answered in {tmp_path / 'answers.json'}" in out and not err


def test_json_output_has_the_assessment_provenance_skipped_conflicts_and_needed(tmp_path, capsys):
    answers = {**ANSWERS, "cauda_equina_syndrome": False, "bmi": 32.0}
    assert main(["assess", "--fhir", STALE, "--answers", write(tmp_path, answers), "--format", "json", *AS_OF]) == 0
    out = json.loads(capsys.readouterr().out)
    assert list(out) == [
        "assessment",
        "filled",
        "provenance",
        "skipped",
        "conflicts",
        "needed",
        "red_flags",
        "red_flag_alerts",
        "has_lumbar_diagnosis",
        "as_of",
    ]
    assert out["assessment"]["knowledge_version"] and set(out["assessment"]["options"]) >= {"fusion"}
    assert out["filled"] == {"age": 65}
    assert out["provenance"]["age"]["resource_type"] == "Patient"
    assert {s["resource_id"] for s in out["skipped"]} >= {"bmi-2023", "smoking-prelim", "ces-error"}
    assert [(c["field"], [v["value"] for v in c["values"]]) for c in out["conflicts"]] == [("bmi", [31.2, 33.9])]
    assert "bmi" in out["needed"] and out["as_of"] == "2026-12-01"


def test_json_output_while_answers_are_needed_has_no_assessment(capsys):
    assert main(["assess", "--fhir", RED_FLAG, "--format", "json", *AS_OF]) == 2
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert (
        out["assessment"] is None and out["needed"] == list(ANSWERS) and out["red_flags"] == ["cauda_equina_syndrome"]
    )


def test_an_answer_that_contradicts_the_record_is_invalid_input(tmp_path, capsys):
    answers = {**ANSWERS, "cauda_equina_syndrome": False}
    assert main(["assess", "--fhir", RED_FLAG, "--answers", write(tmp_path, answers), *AS_OF]) == 2
    assert "invalid input: cauda_equina_syndrome: the record gives true" in capsys.readouterr().err


def test_a_bad_bundle_exits_2_naming_the_element(tmp_path, capsys):
    bundle = json.loads((FHIR_DATA / "red_flag.json").read_text(encoding="utf-8"))
    bundle["entry"][2]["fullUrl"] = 7
    assert main(["assess", "--fhir", write(tmp_path, bundle, "bundle.json"), *AS_OF]) == 2
    err = capsys.readouterr().err
    assert "invalid input: entry[2].fullUrl: not valid FHIR R4" in err
    assert "Traceback" not in err


def test_a_bundle_that_is_not_json_exits_2(tmp_path, capsys):
    path = tmp_path / "bundle.json"
    path.write_text("{not json", encoding="utf-8")
    assert main(["assess", "--fhir", str(path)]) == 2
    assert "invalid input: bundle: not valid JSON" in capsys.readouterr().err


@pytest.mark.parametrize("which", ["--fhir", "--answers"])
def test_a_missing_file_exits_2_naming_the_path(tmp_path, capsys, which):
    missing = str(tmp_path / "nope.json")
    argv = ["assess", "--fhir", missing] if which == "--fhir" else ["assess", "--fhir", RED_FLAG, "--answers", missing]
    assert main(argv) == 2
    assert f"error: cannot read {missing}: No such file or directory" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["assess"], "assess needs a patient FILE or --fhir BUNDLE"),
        (["assess", "p.json", "--fhir", RED_FLAG], "assess needs a patient FILE or --fhir BUNDLE"),
        (["assess", "p.json", "--as-of", "2026-12-01"], "--answers and --as-of go with --fhir"),
        (["assess", "--fhir", RED_FLAG, "--as-of", "1 Dec"], 'expected a date as YYYY-MM-DD, got "1 Dec"'),
    ],
)
def test_usage_mistakes_exit_1(capsys, argv, words):
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 1
    assert words in capsys.readouterr().err


def test_the_positional_patient_file_still_works(capsys):
    assert main(["assess", str(FHIR_DATA.parent.parent.parent / "examples" / "in-label-disc-replacement.json")]) == 0
    assert "Disc replacement" in capsys.readouterr().out


def test_rules_check_reports_a_broken_code_map(kb, capsys):
    path = kb / "fhir_codes.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["observations"][0]["sets"][0]["field"] = "body_mass"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    assert main(["rules", "check", "--dir", str(kb)]) == 2
    err = capsys.readouterr().err
    where = "fhir_codes.yaml: observations[0] http://loinc.org|39156-5"
    assert f"{where}: sets[0]: field: the input contract has no field 'body_mass'" in err
