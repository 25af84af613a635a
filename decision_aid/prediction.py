"""A pure-Python reading of the rules, used only to skip engine passes that cannot matter.

The what-if searches (missing information) try many candidate values, and most of
them change no verdict. Reading the rules in Python (about a fifth of the cost of
an engine pass) tells which candidates could; only those are re-assessed on the
engine, whose result is what the user sees. tests/test_prediction.py holds this
reading equal to the engine's over generated patients, so a skipped pass is one
whose engine result would have been the patient's own verdicts.
"""

from __future__ import annotations

from typing import Any

from decision_aid import conditions as cond
from decision_aid.knowledge import Knowledge, derive_states
from decision_aid.models import OPTIONS
from decision_aid.verdicts import aggregate


def predict_verdicts(knowledge: Knowledge, values: dict[str, Any]) -> dict[str, str]:
    """option -> verdict, as the engine would give for these known values."""
    if any(cond.holds(c.expr, values, {}) for c in knowledge.red_flags):
        return dict.fromkeys(OPTIONS, "not_applicable")
    states = derive_states(knowledge, values)
    effects: dict[str, list[str]] = {o: [] for o in OPTIONS}
    fired: set[str] = set()
    changed = True
    while changed:  # rules that read tags see the tags other rules set, as in the engine
        changed = False
        for c in knowledge.rules:
            if c.spec.id not in fired and cond.holds(c.expr, values, states):
                fired.add(c.spec.id)
                for option in c.spec.options:
                    effects[option] += c.spec.effects
                for tag in c.spec.tags:
                    if tag not in states:
                        states[tag] = "present"
                        changed = True
    return {o: aggregate(e) for o, e in effects.items()}
