"""The Python reading of the rules equals durable-rules on every threshold grid (decision_aid.engine.agreement)."""

import pytest

from decision_aid.engine.agreement import compare
from decision_aid.knowledge import reading

# The exhaustive comparison on the shipped rules (no divergence, every red flag, finding and rule run
# on its grid) runs once in the suite, through `decision-aid rules check`: tests/test_knowledge.py.


@pytest.mark.parametrize(("wrong", "right"), [(">=", ">"), ("< ", "<= "), ("not in v", "in v")])
def test_a_broken_python_reading_is_caught_and_named(aid, monkeypatch, wrong, right):
    honest = reading._python
    monkeypatch.setattr(reading, "_python", lambda expr: honest(expr).replace(wrong, right))
    monkeypatch.setattr(reading, "_evaluators", {})
    report = compare(aid.knowledge, aid.engine, limit=1)
    assert report.divergences, f"replacing {wrong!r} by {right!r} went unnoticed"
    message = str(report.divergences[0])
    assert "Python reading" in message and "durable-rules" in message and aid.knowledge.by_id[report.divergences[0].id]


def test_rules_that_name_the_jurisdiction_are_compared_under_both(aid):
    """The jurisdiction is gridded like a field: a rule naming it is run under 'uk' and 'us'."""
    from decision_aid.engine import agreement
    from decision_aid.knowledge.fields import condition_fields
    from decision_aid.knowledge.loader import candidate_values

    grids = {
        n: candidate_values(s, aid.knowledge.thresholds.get(n, set()), with_null=True)
        for n, s in condition_fields().items()
    }
    assert grids["jurisdiction"] == ["uk", "us"]
    naming = [c for c in aid.knowledge.rules if "jurisdiction" in c.spec.when]
    assert naming
    for rule in naming:
        seen = {point["jurisdiction"] for point in agreement._rule_points(aid.knowledge, rule, grids, {})}
        assert seen == {"uk", "us"}, rule.spec.id
    assert agreement._base()["jurisdiction"] == "uk"  # every other point: the default


def test_a_jurisdiction_the_python_reading_ignores_is_caught(aid, monkeypatch):
    honest = reading._python
    monkeypatch.setattr(reading, "_python", lambda expr: honest(expr).replace("== 'us'", "== 'uk'"))
    monkeypatch.setattr(reading, "_evaluators", {})
    report = compare(aid.knowledge, aid.engine, limit=1)
    assert report.divergences
    assert "jurisdiction" in aid.knowledge.by_id[report.divergences[0].id].spec.when
