"""Missing information asks for one test at a time; what would change it stays plausible and says each change once."""

import json
from pathlib import Path

from decision_aid import assess, default_aid
from decision_aid.engine.missing import by_test
from decision_aid.engine.what_would_change import what_would_change
from decision_aid.knowledge.fields import fields
from decision_aid.samples import random_patients

DATA = Path(__file__).resolve().parent.parent / "examples"
FILMS = json.loads((DATA / "elderly-osteoporosis-unknown-films.json").read_text())


def test_both_flexion_extension_measurements_are_one_test():
    items = assess(FILMS).missing_information
    assert {i.field: i.test for i in items if i.field in ("translation_mm", "angulation_deg")} == {
        "translation_mm": "flexion-extension radiographs",
        "angulation_deg": "flexion-extension radiographs",
    }
    (films,) = [ask for ask in by_test(items) if ask.test == "flexion-extension radiographs"]
    assert sorted(i.field for i in films.items) == ["angulation_deg", "translation_mm"]


def test_the_json_names_a_test_only_where_one_is_declared():
    for item in assess(FILMS).missing_information:
        dumped = json.loads(item.model_dump_json())
        assert ("test" in dumped) == (fields()[item.field].test is not None)


def test_groups_that_could_change_more_verdicts_come_first():
    for patient in random_patients(200, seed=4):
        asks = by_test(assess(patient).missing_information)
        counts = [len(ask.options) for ask in asks]
        assert counts == sorted(counts, reverse=True)
        assert sum(len(ask.items) for ask in asks) == len(assess(patient).missing_information)


def test_no_suggestion_outside_the_plausible_range_and_none_twice():
    aid = default_aid()
    for patient in random_patients(120, seed=21):
        for suggestions in what_would_change(aid, patient).values():
            assert len({(s.field, s.value) for s in suggestions}) == len(suggestions)
            assert len({s.field for s in suggestions}) == len(suggestions)
            for s in suggestions:
                assert fields()[s.field].plausibly(s.value), s.text
                assert "ASA grade were found to be 5" not in s.text
