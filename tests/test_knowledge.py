"""Loading and checking rules/: every kind of mistake is rejected with its file and rule id."""

import re
import subprocess
import sys

import pytest
import yaml

from decision_aid.knowledge.loader import load
from decision_aid.models import OPTIONS
from tests.cli_support import run_cli
from tests.conftest import edit_rule, knowledge_problems


def test_the_shipped_knowledge_base_is_clean():
    knowledge = load()
    assert knowledge.version
    assert {o for c in knowledge.rules for o in c.spec.options} == set(OPTIONS)
    for c in [*knowledge.rules, *knowledge.red_flags]:
        assert c.spec.evidence, c.spec.id
        assert c.spec.patient_explanation.strip(), c.spec.id


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"when": "slip_grad >= 2"}, "unknown field 'slip_grad'"),
        ({"when": "stenosis == 'huge'"}, "'huge' is not an allowed value of 'stenosis'"),
        ({"when": "slip_grade >= 9"}, "9 is not an allowed value of 'slip_grade'"),
        ({"when": "leg_pain == 1"}, "1 is not an allowed value of 'leg_pain'"),
        ({"when": "stenosis > 'mild'"}, "cannot compare 'stenosis'"),
        ({"when": "not leg_pain"}, "not allowed in a condition"),
        ({"when": "frailty is present"}, "unknown field, finding or tag 'frailty'"),
        ({"when": "age is unknown"}, "'age' is never unknown"),
        ({"evidence": ["made-up-2099"]}, "unknown citation id 'made-up-2099'"),
        ({"evidence": []}, "evidence"),
        ({"effects": ["recommends"]}, "effects"),
        ({"options": ["acupuncture"]}, "options"),
        ({"note": "both a note and effects"}, "either effects or a note"),
    ],
)
def test_a_bad_rule_is_rejected_naming_file_and_rule(kb, changes, message):
    edit_rule(kb, "options/fusion.yaml", "fusion.slip-grade-2-or-more", **changes)
    found = knowledge_problems(kb)
    assert any(p.startswith("options/fusion.yaml: fusion.slip-grade-2-or-more") and message in p for p in found), found


def test_duplicate_rule_ids_are_rejected(kb):
    edit_rule(kb, "options/fusion.yaml", "fusion.smoking", id="fusion.slip-grade-2-or-more")
    assert any("duplicate id" in p for p in knowledge_problems(kb))


def test_a_finding_whose_states_leave_a_gap_is_rejected(kb):
    edit_rule(kb, "findings.yaml", "minimal_disability", absent="odi >= 21")
    found = knowledge_problems(kb)
    assert any("minimal_disability" in p and "0 states hold" in p and "odi=20" in p for p in found), found


def test_a_finding_whose_states_overlap_is_rejected(kb):
    edit_rule(kb, "findings.yaml", "high_grade_slip", absent="slip_grade <= 3")
    assert any("high_grade_slip" in p and "2 states hold" in p for p in knowledge_problems(kb))


RULES_CHECK = [sys.executable, "-m", "decision_aid", "rules", "check"]


@pytest.mark.slow  # the exhaustive comparison: some 80,000 engine passes
def test_rules_check_command_exits_0_on_the_shipped_rules_and_proves_the_two_readings_equal():
    """The one exhaustive run of decision_aid.engine.agreement in the suite: exit 0 means no divergence
    (any is printed and exits 2; tests/test_agreement.py shows that a broken reading is caught)."""
    clean = subprocess.run(RULES_CHECK, capture_output=True, text=True)
    assert clean.returncode == 0, clean.stderr
    assert "OK" in clean.stdout
    proved = re.search(
        r"^Python reading = durable-rules on every threshold grid \(([\d,]+) passes\)$", clean.stdout, re.M
    )
    assert proved, clean.stdout
    assert int(proved[1].replace(",", "")) > 1000  # every red flag, finding and rule was run on its grid


def test_rules_check_command_exits_2_with_problems(kb, capfdbinary):
    edit_rule(kb, "options/fusion.yaml", "fusion.smoking", evidence=["nope"])
    broken = run_cli(capfdbinary, "rules", "check", "--dir", str(kb))  # in this process (tests/cli_support.py)
    assert broken.returncode == 2
    assert "options/fusion.yaml: fusion.smoking: unknown citation id 'nope'" in broken.stderr
    assert "Traceback" not in broken.stderr


def test_duplicate_citation_ids_are_rejected(kb):
    path = kb / "bibliography.yaml"
    data = yaml.safe_load(path.read_text())
    data["citations"].append({"id": "nice-ng59", "reference": "Another reference under the same id"})
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    assert any("bibliography.yaml: nice-ng59: duplicate id" in p for p in knowledge_problems(kb))


def test_rule_ids_are_plain_names(kb):
    edit_rule(kb, "options/fusion.yaml", "fusion.smoking", id='fusion.smoking"')
    assert any('fusion.smoking"' in p and "id" in p for p in knowledge_problems(kb))
