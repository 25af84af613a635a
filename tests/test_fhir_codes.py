"""The FHIR code map (rules/fhir_codes.yaml) is reviewed data, checked when it loads: each check
is shown to catch the mistake it is for, on a copied knowledge base."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from decision_aid.errors import KnowledgeError
from decision_aid.knowledge.fields import fields
from decision_aid.records.fhir_codes import SYSTEMS, check_code_map, code_map, load_code_map


def edit(kb: Path, change) -> list[str]:
    path = kb / "fhir_codes.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    found, problems = check_code_map(kb)
    assert found is None and problems
    with pytest.raises(KnowledgeError):
        load_code_map(kb)
    return [str(p) for p in problems]


def entry(data: dict[str, Any], section: str, code: str) -> dict[str, Any]:
    return next(e for e in data[section] if e["code"] == code)


def test_the_bundled_code_map_loads_clean():
    found, problems = check_code_map()
    assert not problems and found is not None and len(found.entries) == len(code_map().entries) > 30


def test_every_entry_names_a_known_system_a_display_a_source_and_a_review_date():
    for e in code_map().entries:
        assert e.system in SYSTEMS and e.display and e.source and e.reviewed.year >= 2026


def test_the_map_fills_only_contract_fields_with_allowed_values():
    for e in code_map().entries:
        for s in e.sets:
            spec = fields()[s.field]
            values = [s.value] if s.fixed else list(s.ask or []) + [a.value for a in s.answers if a.value != "unknown"]
            assert all(spec.accepts(float(v) if spec.kind == "number" else v) for v in values), (e.code, s)


def test_a_field_the_contract_does_not_have_is_named(kb):
    problems = edit(kb, lambda d: entry(d, "observations", "39156-5")["sets"][0].update(field="body_mass"))
    assert any("39156-5: sets[0]: field: the input contract has no field 'body_mass'" in p for p in problems)


def test_a_value_the_field_does_not_allow_is_named(kb):
    problems = edit(kb, lambda d: entry(d, "conditions", "M96.0")["sets"][0].update(value="non_union"))
    assert any("M96.0: sets[0]: value: 'non_union' is not an allowed value of prior_fusion" in p for p in problems)


def test_an_answer_or_an_asked_value_the_field_does_not_allow_is_named(kb):
    def change(d):
        entry(d, "observations", "72166-2")["sets"][0]["answers"][0]["value"] = "yes"
        entry(d, "procedures", "0SG0")["sets"][0]["ask"] = ["solid", "wobbly"]

    problems = edit(kb, change)
    assert any("449868002 gives 'yes', not an allowed value of smoker" in p for p in problems)
    assert any("0SG0: sets[0]: ask: 'wobbly' is not an allowed value of prior_fusion" in p for p in problems)


def test_a_quantity_read_into_a_field_that_is_no_number_is_named(kb):
    problems = edit(kb, lambda d: entry(d, "observations", "39156-5")["sets"][0].update(field="smoker"))
    assert any("read quantity: smoker is not a number field" in p for p in problems)


def test_an_unknown_system_is_named(kb):
    problems = edit(kb, lambda d: entry(d, "conditions", "G83.4").update(system="http://example.org/icd"))
    assert any("system: 'http://example.org/icd' is not a known code system" in p for p in problems)


def test_a_code_mapped_twice_is_a_problem(kb):
    problems = edit(kb, lambda d: d["conditions"].append(dict(entry(d, "conditions", "M43.16"))))
    assert any("M43.16: mapped twice (each code may be mapped once)" in p for p in problems)


def test_a_code_under_a_prefix_entry_is_mapped_twice_too(kb):
    def change(d):
        extra = dict(entry(d, "procedures", "0SR2"), code="0SG00AJ", match="exact")
        d["procedures"].append(extra)

    problems = edit(kb, change)
    assert any("0SG00AJ: overlaps 0SG0* (each code may be mapped once)" in p for p in problems)


@pytest.mark.parametrize("key", ["display", "reviewed", "source"])
def test_an_entry_without_its_display_review_date_or_source_is_named(kb, key):
    problems = edit(kb, lambda d: entry(d, "conditions", "G83.4").pop(key))
    assert any("G83.4" in p and f"{key}: Field required" in p for p in problems)


def test_an_empty_display_is_refused(kb):
    problems = edit(kb, lambda d: entry(d, "conditions", "G83.4").update(display=""))
    assert any("G83.4" in p and "display" in p for p in problems)


def test_an_entry_that_does_nothing_is_a_problem(kb):
    problems = edit(kb, lambda d: entry(d, "conditions", "M43.16").update(lumbar=False))
    assert any("M43.16: the code does nothing" in p for p in problems)


def test_an_unknown_key_is_refused(kb):
    problems = edit(kb, lambda d: entry(d, "conditions", "G83.4").update(colour="red"))
    assert any("G83.4" in p and "colour: Extra inputs are not permitted" in p for p in problems)


def test_the_age_limit_and_the_statuses_are_required(kb):
    problems = edit(kb, lambda d: d.pop("observation_max_age_days"))
    assert any("observation_max_age_days: Field required" in p for p in problems)


def test_a_code_may_set_a_red_flag_but_never_clear_it(kb):
    problems = edit(kb, lambda d: entry(d, "conditions", "G83.4")["sets"][0].update(value=False))
    assert any(
        "G83.4: sets[0]: cauda_equina_syndrome False would not make its red flag present: a record may set a "
        "red flag, never clear it" in p
        for p in problems
    )


def test_a_red_flag_is_asked_only_with_any_answer(kb):
    problems = edit(kb, lambda d: entry(d, "conditions", "G83.4")["sets"][0].update(value=None, ask=[False]))
    assert any("ask: a red flag (cauda_equina_syndrome) is asked with any answer" in p for p in problems)


def test_every_red_flag_setting_in_the_map_makes_its_red_flag_present():
    from decision_aid.records.fhir_import import present_red_flags

    flagged = [
        (e, s)
        for e in code_map().entries
        for s in e.sets
        if s.field in {"cauda_equina_syndrome", "suspected_infection", "suspected_tumour", "suspected_fracture"}
    ]
    assert len(flagged) >= 10
    assert all(present_red_flags({s.field: s.value}) == [s.field] for _, s in flagged)
