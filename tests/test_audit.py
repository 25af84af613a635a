"""`decision-aid audit`: procedures performed against the rules, on a small hand-made cohort whose
counts are worked out by hand from the contract and single rules."""

from __future__ import annotations

import json
from html.parser import HTMLParser

import pytest

from decision_aid.cli import main
from tests.conftest import variant

# Worked out by hand:
# - a red flag (cauda equina) makes every option not applicable (contract.md, "Red flags");
# - back pain without leg pain: decompression alone is opposed by decompression.axial-back-pain-only;
# - without a previous fusion or implant, revision surgery is not applicable (contract.md);
# - conservative care is supported for every non-urgent patient (conservative.always-offered), and the
#   base patient (moderate stenosis, 26 weeks of care, everything measured) has nothing that cautions it.
COHORT = [
    ("p1", "fusion", variant("red_flag")),
    ("p2", "decompression_alone", variant("red_flag")),
    ("p3", "decompression_alone", variant("axial_pain")),
    ("p4", "LOC-DEC", variant("axial_pain")),  # a local code, mapped to decompression_alone
    ("p5", "revision_surgery", variant()),
    ("p6", "conservative_care", variant()),
    ("p7", "", variant()),  # not recorded
    ("p8", "XYZ", variant()),  # neither an option nor a mapped code
    ("p9", None, variant()),  # not recorded either
]


@pytest.fixture
def cohort(tmp_path):
    path = tmp_path / "cohort.jsonl"
    lines = [{"id": i, "performed": done, "patient": p} for i, done, p in COHORT]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


@pytest.fixture
def mapping(tmp_path):
    path = tmp_path / "codes.yaml"
    path.write_text("LOC-DEC: decompression_alone\nLOC-FUS: fusion\n")
    return path


def audit_json(capsys, *args) -> tuple[int, dict, str]:
    code = main(["audit", *map(str, args), "--format", "json"])
    captured = capsys.readouterr()
    return code, (json.loads(captured.out) if captured.out else {}), captured.err


def test_the_counts_are_those_worked_out_by_hand(cohort, mapping, capsys):
    code, report, err = audit_json(capsys, cohort, "--performed", "performed", "--mapping", mapping)
    assert code == 0, err
    part = report["jurisdictions"]["uk"]
    procedures = part["procedures"]
    assert set(procedures) == {"fusion", "decompression_alone", "revision_surgery", "conservative_care"}
    counts = {o: {v: n for v, n in d["verdicts"].items() if n} for o, d in procedures.items()}
    assert counts == {
        "fusion": {"not_applicable": 1},
        "decompression_alone": {"not_applicable": 1, "not_advised": 2},
        "revision_surgery": {"not_applicable": 1},
        "conservative_care": {"worth_discussing": 1},
    }
    reasons = procedures["decompression_alone"]["not_advised_reasons"]
    assert reasons[0] == {
        "rule_id": "decompression.axial-back-pain-only",
        "label": reasons[0]["label"],
        "count": 2,
        "examples": ["p3", "p4"],
    }
    assert part["not_recorded"] == {"count": 2, "ids": ["p7", "p9"]}
    assert part["unknown"] == {"count": 1, "codes": {"XYZ": {"count": 1, "ids": ["p8"]}}}
    assert part["rows"] == 9 and part["audited"] == 6
    assert "not a standard of care" in report["statement"]["statement"]
    assert {c["id"] for c in report["statement"]["evidence"]} == {
        "reitman2021-nass-auc",
        "eur-spine-j-2014-appropriateness",
    }
    assert "2 rows without a performed procedure, 1 with an unknown one" in err


def test_without_the_mapping_the_local_code_is_unknown_and_named(cohort, capsys):
    code, report, _ = audit_json(capsys, cohort, "--performed", "performed", "--jurisdiction", "us")
    assert code == 0
    part = report["jurisdictions"]["us"]
    assert part["unknown"]["codes"]["LOC-DEC"] == {"count": 1, "ids": ["p4"]}
    assert sum(part["procedures"]["decompression_alone"]["verdicts"].values()) == 2


def test_a_csv_mapping_works_and_a_bad_one_exits_2_naming_the_line(cohort, tmp_path, capsys):
    good = tmp_path / "codes.csv"
    good.write_text("code,option\nLOC-DEC,decompression_alone\n")
    code, report, _ = audit_json(capsys, cohort, "--performed", "performed", "--mapping", good)
    assert code == 0 and report["jurisdictions"]["uk"]["unknown"]["count"] == 1
    bad = tmp_path / "bad.csv"
    bad.write_text("code,option\nLOC-DEC,decompression_alone\nLOC-X,laminectomy\n")
    code, _, err = audit_json(capsys, cohort, "--performed", "performed", "--mapping", bad)
    assert code == 2
    assert "line 3" in err and "'laminectomy' is not an option" in err and "Traceback" not in err


def test_an_invalid_row_is_listed_and_exits_2(tmp_path, capsys):
    path = tmp_path / "cohort.jsonl"
    rows = [{"id": "ok", "performed": "fusion", "patient": variant()}]
    rows.append({"id": "child", "performed": "fusion", "patient": variant(age=7)})
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    code, report, err = audit_json(capsys, path, "--performed", "performed")
    assert code == 2 and "child" in err
    part = report["jurisdictions"]["uk"]
    assert [r["id"] for r in part["invalid"]] == ["child"] and part["audited"] == 1


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)


def test_markdown_and_html_reports(cohort, mapping, tmp_path, capsys):
    out = tmp_path / "audit.html"
    assert (
        main(
            [
                "audit",
                str(cohort),
                "--performed",
                "performed",
                "--mapping",
                str(mapping),
                "--format",
                "html",
                "-o",
                str(out),
            ]
        )
        == 0
    )
    page = out.read_text()
    parser = _Tags()
    parser.feed(page)
    parser.close()
    assert parser.tags.count("svg") == 1 and parser.tags.count("rect") >= 4  # the verdict shares
    assert "script" not in parser.tags and "not a standard of care" in page and "XYZ" in page
    assert main(["audit", str(cohort), "--performed", "performed", "--mapping", str(mapping)]) == 0
    text = capsys.readouterr().out
    assert "| Decompression alone | 3 |" in text and "`decompression.axial-back-pain-only`" in text
    assert "not a standard of care" in text and "`p7`, `p9`" in text


def test_a_missing_cohort_exits_2_and_a_missing_output_folder_1(tmp_path, cohort, capsys):
    assert main(["audit", str(tmp_path / "none.jsonl"), "--performed", "performed"]) == 2
    assert "none.jsonl" in capsys.readouterr().err
    out = tmp_path / "no" / "such" / "folder.md"
    assert main(["audit", str(cohort), "--performed", "performed", "-o", str(out)]) == 1


@pytest.mark.slow  # a process pool
def test_the_cohort_runners_pool_gives_the_same_report(cohort, mapping, capsys):
    args = [cohort, "--performed", "performed", "--mapping", mapping]
    _, here, _ = audit_json(capsys, *args)
    code, pooled, err = audit_json(capsys, *args, "--workers", "2")
    assert code == 0, err
    assert pooled == here


def test_a_csv_cohort_is_read_by_the_cohort_runners_reader(tmp_path, capsys):
    path = tmp_path / "cohort.csv"
    columns = ["id", "done", *variant()]
    rows = [["a", "fusion", *variant().values()], ["b", "", *variant().values()]]
    text = lambda v: "" if v is None else str(v).lower() if isinstance(v, bool) else str(v)  # noqa: E731
    path.write_text("\n".join(",".join(text(v) for v in row) for row in [columns, *rows]) + "\n")
    code, report, err = audit_json(capsys, path, "--performed", "done")
    assert code == 0, err
    part = report["jurisdictions"]["uk"]
    assert sum(part["procedures"]["fusion"]["verdicts"].values()) == 1 and part["not_recorded"]["ids"] == ["b"]


@pytest.mark.slow  # a Dask LocalCluster
def test_a_parquet_cohort_gives_the_same_audit_in_process_on_the_pool_and_on_dask(tmp_path, capsys):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from decision_aid.knowledge.fields import fields
    from decision_aid.models import OPTIONS
    from decision_aid.samples import random_patients

    patients = random_patients(120, seed=7)
    table = {"id": [f"r{i}" for i in range(len(patients))], "done": [OPTIONS[i % 6] for i in range(len(patients))]}
    table |= {name: [p.get(name) for p in patients] for name in fields()}
    path = tmp_path / "cohort.parquet"
    pq.write_table(pa.table(table), path)
    reports = []
    for extra in ([], ["--workers", "2"], ["--dask", "local"]):
        code, report, err = audit_json(capsys, path, "--performed", "done", *extra)
        assert code == 0, err
        reports.append(report)
    assert reports[0] == reports[1] == reports[2]
    assert reports[0]["jurisdictions"]["uk"]["audited"] == 120


@pytest.mark.slow  # a process pool and a Dask LocalCluster
def test_the_markdown_report_is_byte_identical_in_process_on_one_worker_on_the_pool_and_on_dask(
    cohort, mapping, monkeypatch, capsys
):
    from decision_aid.cohorts import runner

    monkeypatch.setattr(runner, "POOL_THRESHOLD", 0)  # the small cohort through the pool all the same
    reports = []
    for extra in ([], ["--workers", "1"], ["--workers", "2"], ["--dask", "local"]):
        code = main(["audit", str(cohort), "--performed", "performed", "--mapping", str(mapping), *extra])
        captured = capsys.readouterr()
        assert code == 0, captured.err
        reports.append(captured.out)
    assert "| Fusion | 1 |" in reports[0] and "`decompression.axial-back-pain-only`" in reports[0]
    assert reports[1] == reports[0] and reports[2] == reports[0] and reports[3] == reports[0]


def test_a_repeated_id_exits_2_naming_the_id_and_both_rows(tmp_path, capsys):
    path = tmp_path / "cohort.jsonl"
    rows = [{"id": i, "performed": "fusion", "patient": variant()} for i in ("a", "b", "a")]
    rows[2]["patient"] = variant(age=7)  # a later invalid row with the same id
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    code, report, err = audit_json(capsys, path, "--performed", "performed")
    assert code == 2 and report == {}
    assert "'a'" in err and "rows 1 and 3" in err and "Traceback" not in err


def test_a_yaml_mapping_reads_each_code_as_written(tmp_path, capsys):
    """YAML 1.1 reads `0123` as the integer 83: the code is the key's text, so 0123 stays 0123."""
    path = tmp_path / "cohort.jsonl"
    rows = [{"id": "a", "performed": "0123", "patient": variant()}]
    rows.append({"id": "b", "performed": "22612", "patient": variant()})
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    mapping = tmp_path / "codes.yaml"
    mapping.write_text("0123: fusion\n22612: decompression_alone\n")
    code, report, err = audit_json(capsys, path, "--performed", "performed", "--mapping", mapping)
    assert code == 0, err
    part = report["jurisdictions"]["uk"]
    assert part["unknown"]["count"] == 0
    assert sum(part["procedures"]["fusion"]["verdicts"].values()) == 1
    assert sum(part["procedures"]["decompression_alone"]["verdicts"].values()) == 1


def test_an_invalid_csv_row_is_listed_with_its_row_in_process_and_on_one_worker(tmp_path, capsys):
    path = tmp_path / "cohort.csv"
    columns = ["id", "done", *variant()]
    rows = [["a", "fusion", *variant().values()], ["b", "fusion", *variant(age=7).values()]]
    text = lambda v: "" if v is None else str(v).lower() if isinstance(v, bool) else str(v)  # noqa: E731
    path.write_text("\n".join(",".join(text(v) for v in row) for row in [columns, *rows]) + "\n")
    code, here, _ = audit_json(capsys, path, "--performed", "done")
    assert code == 2
    (invalid,) = here["jurisdictions"]["uk"]["invalid"]
    assert invalid["id"] == "b" and invalid["problems"][0].startswith("age: ") and "(row 2)" in invalid["problems"][0]
    assert audit_json(capsys, path, "--performed", "done", "--workers", "1")[1] == here
