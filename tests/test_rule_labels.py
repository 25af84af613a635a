"""Every rule's label: words for people on tiles and in letters, checked when rules/ loads."""

import re

import pytest

from decision_aid.knowledge.loader import LABEL_MAX, check_label, load
from decision_aid.models import OPTIONS
from tests.conftest import edit_rule, knowledge_problems

# Words a label may start with in capitals: proper nouns and abbreviations.
CAPITALISED = tuple("ASA BMI CT Cobb Coflex DEXA Dynesys FDA L1 L5-S1 NICE ODI UK USA".split())


@pytest.fixture(scope="module")
def knowledge():
    return load()


def labelled(knowledge):
    return [*knowledge.red_flags, *knowledge.rules, knowledge.fallback]


# ---- the shipped labels -------------------------------------------------------------------------


def test_every_rule_red_flag_and_the_fallback_has_a_label_that_passes_the_checks(knowledge):
    items = labelled(knowledge)
    assert len(knowledge.rules) >= 95
    for c in items:
        assert check_label(c.spec.label, c.spec.id) == [], c.spec.id
        assert knowledge.by_id[c.spec.id].spec.label == c.spec.label


@pytest.mark.parametrize("option", OPTIONS)
def test_no_two_rules_of_one_option_share_a_label(knowledge, option):
    labels = [c.spec.label.casefold() for c in knowledge.rules if option in c.spec.options]
    assert len(labels) == len(set(labels)), sorted(lab for lab in labels if labels.count(lab) > 1)


def test_labels_read_as_words_for_people(knowledge):
    for c in labelled(knowledge):
        label = c.spec.label
        assert label == label.strip() and "  " not in label, c.spec.id
        assert label[0].islower() or label.startswith(CAPITALISED), (c.spec.id, label)
        assert not label.endswith("."), (c.spec.id, label)
        # Slip grades as on the form: Roman numerals, never "grade 1 slip" or "slip grade 2".
        assert not re.search(r"\bgrade [0-9]\b[^,]*\bslip\b|\bslip grade [0-9]", label), (c.spec.id, label)


def test_the_fallback_reads_nothing_indicates_it(knowledge):
    assert knowledge.fallback.spec.label == "nothing indicates it"


# ---- the check itself ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "label, message",
    [
        ("", "label is empty"),
        ("   ", "label is empty"),
        ("x" * (LABEL_MAX + 1), f"{LABEL_MAX + 1} characters long"),
        ("grade_2_slip", "underscore"),
        ("fusion.slip-grade-2-or-more", "looks like a rule id"),
        ("FUSION.SLIP-GRADE-2-OR-MORE", "looks like a rule id"),
        ("slip-grade-2-or-more", "looks like a rule id"),
        ("grade-1-degenerative-slip", "looks like a rule id"),
        ("two\nlines", "one line"),
    ],
)
def test_a_bad_label_is_named(label, message):
    assert any(message in p for p in check_label(label, "fusion.slip-grade-2-or-more"))


@pytest.mark.parametrize(
    "label",
    ["grade II or higher slip", "osteoporosis", "x" * LABEL_MAX, "L5-S1 level (Coflex unsuitable)", "ASA grade 5"],
)
def test_a_good_label_passes(label):
    assert check_label(label, "fusion.slip-grade-2-or-more") == []


# ---- a bad label in a copied rules/ folder is reported with file and id -------------------------------


@pytest.mark.parametrize(
    "file, rule_id",
    [
        ("options/fusion.yaml", "fusion.slip-grade-2-or-more"),
        ("options/common.yaml", "common.no-symptoms"),
        ("red_flags.yaml", "red-flag.cauda-equina"),
        ("fallback.yaml", "nothing-indicates"),
    ],
)
@pytest.mark.parametrize(
    "label, message",
    [
        ("", "label is empty"),
        ("a" * 61, "61 characters long"),
        ("slip_grade_2", "underscore"),
        ("grade-2-slip", "looks like a rule id"),
    ],
)
def test_a_bad_label_is_rejected_naming_file_and_rule(kb, file, rule_id, label, message):
    edit_rule(kb, file, rule_id, label=label)
    found = knowledge_problems(kb)
    assert any(p.startswith(f"{file}: {rule_id}: ") and message in p for p in found), found


@pytest.mark.parametrize(
    "file, rule_id", [("options/fusion.yaml", "fusion.smoking"), ("red_flags.yaml", "red-flag.tumour")]
)
def test_a_missing_label_is_rejected_naming_file_and_rule(kb, file, rule_id):
    edit_rule(kb, file, rule_id, label=None)
    found = knowledge_problems(kb)
    assert any(p.startswith(f"{file}: {rule_id}: label") and "required" in p.lower() for p in found), found


def test_the_label_of_the_rule_named_as_its_id_is_rejected(kb):
    edit_rule(kb, "options/fusion.yaml", "fusion.smoking", label="fusion.smoking")
    assert any(
        p.startswith("options/fusion.yaml: fusion.smoking: ") and "looks like a rule id" in p
        for p in knowledge_problems(kb)
    )


def test_two_rules_of_one_option_with_the_same_label_are_rejected(kb):
    edit_rule(kb, "options/fusion.yaml", "fusion.smoking", label="Osteoporosis before screw fixation")
    found = knowledge_problems(kb)
    assert any(
        p.startswith("options/fusion.yaml: ")
        and "fusion.smoking" in p
        and "fusion.osteoporosis" in p
        and "(fusion)" in p
        and "would read the same" in p
        for p in found
    ), found


def test_a_common_rule_and_an_option_rule_with_the_same_label_are_rejected(kb):
    edit_rule(kb, "options/fusion.yaml", "fusion.smoking", label="psychosocial yellow flags")
    found = knowledge_problems(kb)
    assert any("common.psychosocial-yellow-flags" in p and "fusion.smoking" in p for p in found), found


def test_the_same_label_in_two_different_options_is_allowed(knowledge):
    by_label: dict[str, set[str]] = {}
    for c in knowledge.rules:
        by_label.setdefault(c.spec.label, set()).update(c.spec.options)
    assert len(by_label["grade II or higher slip"]) >= 2  # fusion and dynamic stabilisation, one rule each


def test_rules_check_reports_a_bad_label(kb, capsys):
    from decision_aid.cli import main

    edit_rule(kb, "options/fusion.yaml", "fusion.smoking", label="fusion_smoking")
    code = main(["rules", "check", "--dir", str(kb)])
    out = capsys.readouterr()
    assert code != 0
    assert "options/fusion.yaml: fusion.smoking: label contains an underscore" in out.out + out.err
