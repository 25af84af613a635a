"""`decision-aid rules diff`: what a rule change does to a cohort's verdicts.

Small cohorts only (a few hundred seeded patients); the 10,000-patient default cohort is timed in
`python -m decision_aid.bench`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from decision_aid import default_aid
from decision_aid.cli import main
from decision_aid.cohorts.rows import CohortRow
from decision_aid.governance import diff
from decision_aid.governance.cohort import SEED, default_cohort
from decision_aid.governance.passes import evaluate
from decision_aid.knowledge.loader import load
from decision_aid.samples import random_patients
from decision_aid.views.teaching import load_cases
from tests.conftest import edit_rule

ROOT = Path(__file__).resolve().parent.parent
RED_FLAGS = ("cauda_equina_syndrome", "suspected_infection", "suspected_tumour", "suspected_fracture")


def urgent(patient: dict) -> bool:
    """A red flag, worked out from the patient's values (contract.md, "Red flags")."""
    return any(patient.get(f) for f in RED_FLAGS) or patient.get("motor_deficit") in ("severe", "progressive")


def run(rows, knowledge, folder, jurisdiction):
    return evaluate(rows, knowledge, jurisdiction)


@pytest.fixture(scope="module")
def patients() -> list[dict]:
    return random_patients(300, seed=SEED)


def rows_of(patients: list[dict]) -> list[CohortRow]:
    return [CohortRow(f"random/{i}", None, p) for i, p in enumerate(patients, start=1)]


def test_a_knowledge_base_against_itself_reports_no_change(aid, patients):
    cases = load_cases(knowledge=aid.knowledge)
    report = diff.compare(aid.knowledge, aid.knowledge, rows_of(patients), ["uk", "us"], run, cases)
    assert report["changed"] is False
    for part in report["jurisdictions"].values():
        assert part["changed_patients"] == 0 and part["rules"] == []
        for data in part["options"].values():
            assert data["transitions"] == []
            off_diagonal = sum(n for was, row in data["matrix"].items() for now, n in row.items() if was != now)
            assert off_diagonal == 0
            assert sum(sum(row.values()) for row in data["matrix"].values()) == len(patients)
    assert report["teaching_cases"] == []


IN_LABEL = json.loads((ROOT / "examples" / "in-label-disc-replacement.json").read_text())


def test_a_changed_threshold_reports_exactly_the_patients_on_either_side_of_it(kb, patients):
    # disc-replacement.age-over-60 (age > 60, opposes disc replacement) now starts above 50
    edit_rule(kb, "options/disc_replacement.yaml", "disc-replacement.age-over-60", when="age > 50")
    old, new = default_aid().knowledge, load(kb)
    # the in-label disc-replacement patient at every age from 40 to 70, and the random patients
    ladder = [CohortRow(f"age/{age}", None, {**IN_LABEL, "age": age}) for age in range(40, 71)]
    report = diff.compare(old, new, [*ladder, *rows_of(patients)], ["us"], run)  # in its label in the USA
    part = report["jurisdictions"]["us"]

    between = {f"random/{i}" for i, p in enumerate(patients, 1) if 50 < p["age"] <= 60 and not urgent(p)}
    assert between  # the cohort has random patients on either side of the old and new thresholds
    (rule,) = part["rules"]
    assert rule["id"] == "disc-replacement.age-over-60"
    assert rule["new"] - rule["old"] == len(between) + 10  # and the ladder's ages 51 to 60

    # exactly the patients aged 51 to 60 whose disc-replacement verdict was favourable move to not advised
    favourable = {"worth_discussing", "discuss_with_caution"}
    expected = {f"age/{age}" for age in range(51, 61)} | {
        f"random/{i}"
        for i, p in enumerate(patients, 1)
        if f"random/{i}" in between and default_aid().assess(p, "us").options["disc_replacement"].verdict in favourable
    }
    moved = {i for t in part["options"]["disc_replacement"]["transitions"] for i in t["ids"]}
    assert moved == expected
    assert {t["to"] for t in part["options"]["disc_replacement"]["transitions"]} == {"not_advised"}
    assert all(not data["transitions"] for o, data in part["options"].items() if o != "disc_replacement")
    example = part["options"]["disc_replacement"]["transitions"][0]["examples"][0]
    assert example["id"] == "age/51"
    assert "disc-replacement.age-over-60" in {r["rule_id"] for r in example["after"]}
    assert "disc-replacement.age-over-60" not in {r["rule_id"] for r in example["before"]}
    assert set(example["values"]) == {"age"}


def test_a_us_only_change_is_seen_under_us_and_not_under_uk(kb, patients):
    edit_rule(
        kb,
        "options/disc_replacement.yaml",
        "disc-replacement.us-minimal-disability",
        when="jurisdiction == 'us' and odi < 50",
    )
    report = diff.compare(default_aid().knowledge, load(kb), rows_of(patients), ["uk", "us"], run)
    uk, us = report["jurisdictions"]["uk"], report["jurisdictions"]["us"]
    assert uk["changed_patients"] == 0 and uk["rules"] == []
    assert [r["id"] for r in us["rules"]] == ["disc-replacement.us-minimal-disability"]
    firing = {f"random/{i}" for i, p in enumerate(patients, 1) if 40 <= (p.get("odi") or -1) < 50 and not urgent(p)}
    assert us["rules"][0]["new"] - us["rules"][0]["old"] == len(firing)


def test_teaching_cases_whose_answer_changes_are_listed(kb, aid):
    # a teaching case (in-label disc replacement, us) whose verdict moves when the age limit drops below its age
    cases = load_cases(knowledge=aid.knowledge)
    ages = sorted({c.patient.age for c in cases if c.spec.expected["disc_replacement"] == "worth_discussing"})
    edit_rule(kb, "options/disc_replacement.yaml", "disc-replacement.age-over-60", when=f"age > {ages[0] - 1}")
    report = diff.compare(aid.knowledge, load(kb), [], ["uk", "us"], run, cases)
    listed = {c["id"] for c in report["teaching_cases"]}
    moved = {
        c.id
        for c in cases
        if c.spec.expected["disc_replacement"] in ("worth_discussing", "discuss_with_caution")
        and c.patient.age >= ages[0]
        and not c.spec.expected["disc_replacement"] == "not_applicable"
    }
    assert listed == moved
    change = next(c for c in report["teaching_cases"])["changes"][0]
    assert change["option"] == "disc_replacement" and change["new"] == "not_advised"
    assert change["old"] == change["expected"]


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)


def test_markdown_json_and_html_reports_are_well_formed(kb, tmp_path, capsys):
    from decision_aid.governance import diff_report

    # the in-label example (aged 40) moves
    edit_rule(kb, "options/disc_replacement.yaml", "disc-replacement.age-over-60", when="age > 38")
    out = tmp_path / "report.json"
    code = main(["rules", "diff", str(ROOT / "rules"), str(kb), "--random", "30", "--format", "json", "-o", str(out)])
    assert code == 0, capsys.readouterr().err
    report = json.loads(out.read_text(encoding="utf-8"))
    assert set(report["jurisdictions"]) == {"uk", "us"}
    assert report["cohort"]["rows"] == 8 + len(load_cases()) + 30
    markdown, page = diff_report.markdown(report), diff_report.html(report)
    assert "| before ↓ / after → |" in markdown and "disc-replacement.age-over-60" in markdown
    assert "`example/in-label-disc-replacement`" in markdown
    parser = _Tags()
    parser.feed(page)
    parser.close()
    # one transition matrix per option and jurisdiction, and the changed rule firings under each
    assert parser.tags.count("svg") == 6 * 2 + 2
    assert "script" not in parser.tags and "http://" not in page.replace("http://www.w3.org/2000/svg", "")
    assert main(["rules", "diff", "rules", str(kb), "--random", "0", "--format", "html", "-o", str(out)]) == 0
    assert out.read_text().startswith("<!DOCTYPE html>")


def test_the_default_cohort_holds_the_examples_the_teaching_cases_and_the_random_patients(aid):
    cases = load_cases(knowledge=aid.knowledge)
    rows = default_cohort(cases, 5)
    ids = [r.id for r in rows]
    assert ids[:8] == [f"example/{p.stem}" for p in sorted((ROOT / "examples").glob("*.json"))]
    assert ids[8 : 8 + len(cases)] == [f"case/{c.id}" for c in cases]
    assert ids[-5:] == [f"random/{i}" for i in range(1, 6)]


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_a_git_ref_may_name_the_old_rules(tmp_path, monkeypatch, capsys):
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "rules", repo / "rules")
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run([*git, "add", "rules"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "rules"], check=True)
    edit_rule(repo / "rules", "options/disc_replacement.yaml", "disc-replacement.age-over-60", when="age > 50")
    monkeypatch.chdir(repo)
    code = main(["rules", "diff", "HEAD", "rules", "--random", "100", "--jurisdiction", "uk", "--format", "json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    report = json.loads(captured.out)
    assert report["old"]["rules"] == "HEAD"
    assert [r["id"] for r in report["jurisdictions"]["uk"]["rules"]] == ["disc-replacement.age-over-60"]


def test_a_missing_or_old_format_rules_folder_exits_2_naming_it(tmp_path, capsys):
    assert main(["rules", "diff", str(tmp_path / "nowhere"), "--random", "0"]) == 2
    assert str(tmp_path / "nowhere") in capsys.readouterr().err
    old_format = ROOT / "tests" / "data" / "knowledge_2026.11.22"  # no field declarations: before fields.yaml
    assert main(["rules", "diff", str(old_format), "--random", "0"]) == 2
    err = capsys.readouterr().err
    assert str(old_format) in err and "fields.yaml" in err and "Traceback" not in err


def test_an_invalid_cohort_row_exits_2_naming_it_and_the_report_lists_it(tmp_path, capsys):
    cohort = tmp_path / "cohort.jsonl"
    good = random_patients(3, seed=1)
    lines = [{"id": f"p{i}", "patient": p} for i, p in enumerate(good)]
    lines.insert(1, {"id": "bad-one", "patient": {**good[0], "age": 7}})
    cohort.write_text("".join(json.dumps(line) + "\n" for line in lines))
    out = tmp_path / "report.json"
    code = main(["rules", "diff", "rules", "--cohort", str(cohort), "--format", "json", "-o", str(out)])
    assert code == 2
    assert "bad-one" in capsys.readouterr().err
    report = json.loads(out.read_text())
    assert [r["id"] for r in report["cohort"]["invalid"]] == ["bad-one"]
    assert "age" in report["cohort"]["invalid"][0]["problems"][0]
    assert report["cohort"]["assessed"] == 3


def test_the_examples_are_found_inside_an_installed_package(tmp_path, monkeypatch):
    """examples_dir() prefers decision_aid/examples (the wheel's force-include) over the checkout."""
    from decision_aid.governance import folders

    package = tmp_path / "decision_aid"
    shutil.copytree(ROOT / "examples", package / "examples")
    monkeypatch.setattr(folders, "__file__", str(package / "governance" / "folders.py"))
    assert folders.examples_dir() == package / "examples"
    assert [name for name, _ in folders.example_patients()] == [
        p.stem for p in sorted((ROOT / "examples").glob("*.json"))
    ]


@pytest.mark.slow  # a process pool, and the benchmark's subprocess
def test_the_pool_gives_the_same_diff_and_the_benchmark_times_the_command(kb, capsys):
    from decision_aid.governance.bench import rules_diff_seconds

    edit_rule(kb, "options/disc_replacement.yaml", "disc-replacement.age-over-60", when="age > 38")
    reports = []
    for extra in ([], ["--workers", "2"]):
        code = main(["rules", "diff", "rules", str(kb), "--random", "60", "--format", "json", *extra])
        captured = capsys.readouterr()
        assert code == 0, captured.err
        reports.append(json.loads(captured.out))
    assert reports[0] == reports[1]
    assert rules_diff_seconds(20) > 0


def test_a_cohort_with_a_repeated_id_exits_2_naming_the_id_and_both_rows(tmp_path, capsys):
    """Reports key patients by id: a repeated id would be counted wrongly (rules/diff by id)."""
    from tests.conftest import variant

    path = tmp_path / "dup.jsonl"
    records = [("P1", variant()), ("P1", variant()), ("P3", variant())]
    path.write_text("".join(json.dumps({"id": i, "patient": p}) + "\n" for i, p in records))
    assert main(["rules", "diff", str(ROOT / "rules"), "--cohort", str(path)]) == 2
    captured = capsys.readouterr()
    assert "P1" in captured.err and "rows 1 and 2" in captured.err and "Traceback" not in captured.err
    assert captured.out == ""
