"""The knowledge-base catalogue: every entry readable, searchable and filterable."""

import re

import pytest

from decision_aid import default_aid
from decision_aid.knowledge import catalogue
from decision_aid.models import OPTIONS


@pytest.fixture(scope="module")
def entries():
    return catalogue.entries(default_aid().knowledge)


def test_every_red_flag_finding_rule_and_the_fallback_is_listed_once(entries):
    knowledge = default_aid().knowledge
    assert sorted(e.id for e in entries) == sorted(knowledge.by_id)
    assert {e.kind for e in entries} == set(catalogue.KINDS)


def test_conditions_read_as_words_not_code(entries):
    for entry in entries:
        assert entry.conditions, entry.id
        for _, text in entry.conditions:
            assert not re.search(r"==|>=|<=|[<>]|\bnot_|_", text.replace("not known", "")), (entry.id, text)


def test_a_finding_concerns_the_options_whose_rules_read_it(entries):
    by_id = {e.id: e for e in entries}
    assert "dynamic_stabilisation" in by_id["beyond_interlaminar_envelope"].options
    # osteopenia reads osteoporosis, so the options reading osteopenia reach osteoporosis too
    assert set(by_id["osteopenia"].options) <= set(by_id["osteoporosis"].options)
    assert by_id["osteoporosis"].effects == ()


def test_text_search_needs_every_word_in_any_case(entries):
    found = catalogue.search(entries, "Osteoporosis FUSION")
    assert "fusion.osteoporosis" in {e.id for e in found}
    assert all("osteoporosis" in e.text() and "fusion" in e.text() for e in found)
    assert len(found) < len(catalogue.search(entries, "osteoporosis")) < len(entries)
    assert catalogue.search(entries, "") == entries
    assert catalogue.search(entries, "zzz-no-such-word") == []


def test_search_finds_a_rule_by_its_readable_condition_and_citation(entries):
    assert "fusion.slip-grade-2-or-more" in {e.id for e in catalogue.search(entries, "slip grade is II or more")}
    by_citation = catalogue.search(entries, "recurrent-herniation-review")
    assert "decompression.recurrent-herniation" in {e.id for e in by_citation}


def test_filters_by_option_effect_and_kind(entries):
    revision = catalogue.search(entries, options=["revision_surgery"])
    assert revision and all("revision_surgery" in e.options for e in revision)
    supports = catalogue.search(entries, options=["revision_surgery"], effects=["supports"])
    assert {e.id for e in supports} == {
        "revision.symptomatic-non-union",
        "revision.pseudarthrosis-date-unknown",
        "revision.hardware-failure",
        "revision.adjacent-segment-disease",
        "revision.implant-mechanical-failure",
        "revision.symptoms-at-intact-implant",
        "revision.next-to-dynamic-implant",
    }
    notes = catalogue.search(entries, effects=[catalogue.NOTE])
    assert notes and all(e.note for e in notes)
    assert all(e.kind != "finding" for e in catalogue.search(entries, effects=["cautions"]))
    flags = catalogue.search(entries, kinds=["red flag"])
    assert len(flags) == len(default_aid().knowledge.red_flags)
    assert all(e.options == OPTIONS and e.effects == ("excludes",) and e.alert for e in flags)


def test_citations_list_who_cites_them():
    knowledge = default_aid().knowledge
    items = catalogue.citations(knowledge)
    assert [c.id for c in items] == list(knowledge.citations)
    for c in items:
        for cited_by in c.cited_by:
            assert c.id in knowledge.by_id[cited_by].spec.evidence
    glassman = next(c for c in items if c.id == "glassman2000-smoking")
    assert "fusion.smoking" in glassman.cited_by
    found = catalogue.search_citations(items, "coflex")
    assert found and all("coflex" in " ".join((c.id, c.reference, *c.cited_by)).lower() for c in found)
    only = catalogue.search_citations(items, "", cited_by={"fusion.smoking"})
    assert [c.id for c in only] == ["glassman2000-smoking"]
