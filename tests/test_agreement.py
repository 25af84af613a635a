"""The Python reading of the rules equals durable-rules on every threshold grid (decision_aid.agreement)."""

import pytest

from decision_aid import default_aid, reading
from decision_aid.agreement import compare


def test_the_python_reading_equals_the_engine_everywhere():
    aid = default_aid()
    report = compare(aid.knowledge, aid.engine)
    assert report.divergences == []
    assert report.passes > 1000  # every red flag, finding and rule was run on its grid


@pytest.mark.parametrize(("wrong", "right"), [(">=", ">"), ("< ", "<= "), ("not in v", "in v")])
def test_a_broken_python_reading_is_caught_and_named(monkeypatch, wrong, right):
    honest = reading._python
    monkeypatch.setattr(reading, "_python", lambda expr: honest(expr).replace(wrong, right))
    monkeypatch.setattr(reading, "_evaluators", {})
    aid = default_aid()
    report = compare(aid.knowledge, aid.engine, limit=1)
    assert report.divergences, f"replacing {wrong!r} by {right!r} went unnoticed"
    message = str(report.divergences[0])
    assert "Python reading" in message and "durable-rules" in message and aid.knowledge.by_id[report.divergences[0].id]


def test_rules_check_runs_the_comparison():
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "decision_aid", "rules", "check"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "Python reading = durable-rules on every threshold grid" in done.stdout
