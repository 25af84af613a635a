"""What would settle a caution: the unknown answers a cautioning rule rests on, and the tests that obtain them.

A caution may rest on something not known: a slip without flexion-extension films,
bone quality unknown at age over 65, a previous operation of unknown type. Missing
information lists a field only when its value could change a verdict, so such a
caution can stand with no test named for it. This module names the test that
would settle each one, for the views (card, clinic letter, patient text, handout);
it never changes a verdict or the missing-information list.

A null field settles a caution when it is *open* for the rule and some value of it
(a candidate the rules tell apart, passing the contract's cross-field checks with
the patient's other answers) stops the rule firing. Open fields are found through
the rule's condition: a null field it names; the null fields of a finding it reads
that is in state `unknown`; and, through a finding that has no `unknown` state (one
about the unknowns themselves, such as "stability not assessed"), whatever that
finding's own condition reads, likewise. A three-valued finding decided present or
absent is not followed: a convention has decided it (films with no slip, CT when a
T-score is known), as for missing information. Fields that settle a caution only
together are named together. Conditions are read with `decision_aid.knowledge.reading`, which
`decision-aid rules check` proves equal to the engine.

The tests are those declared per field in rules/fields.yaml (`test:`); a field with
none is named by its label.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from decision_aid.knowledge import conditions as cond
from decision_aid.knowledge.fields import fields
from decision_aid.knowledge.loader import Compiled, Knowledge, candidate_values
from decision_aid.knowledge.reading import fired_rules
from decision_aid.models import Assessment, PatientFactors

EFFECT = "cautions"  # the reasons this module looks behind
MAX_JOINT_TRIALS = 2000  # fields that settle a caution only together: at most this many value combinations


@dataclass(frozen=True)
class Settler:
    """The answers that would settle one caution: each group alone would (tests joined by "or")."""

    rule_id: str
    groups: tuple[tuple[str, ...], ...]  # fields, one group per way of settling it (most often one field)

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(name for group in self.groups for name in group))

    @property
    def tests(self) -> tuple[str, ...]:
        """The declared tests, once each, in the fields' order ("" for a field with no test)."""
        return tuple(dict.fromkeys(fields()[name].test or "" for name in self.fields))


def settlers(knowledge: Knowledge, factors: PatientFactors, assessment: Assessment) -> dict[str, Settler]:
    """rule id -> what would settle it, for each caution of `assessment` that rests on an unknown answer.

    `knowledge` and `assessment` must be those that assessed `factors`. Empty for an urgent referral.
    """
    if assessment.urgent_referral:
        return {}
    values = {**factors.known_values(), "jurisdiction": assessment.jurisdiction}
    states, fired = fired_rules(knowledge, values)
    cautioning = dict.fromkeys(
        r.rule_id for result in assessment.options.values() for r in result.reasons if r.effect == EFFECT
    )
    out = {}
    for rule_id in cautioning:
        rule = knowledge.by_id[rule_id]
        if rule_id not in fired:  # a caution always comes from a rule that fired; nothing to settle otherwise
            continue
        groups = _settling_groups(knowledge, rule, values, _open_fields(knowledge, rule.expr, values, states, fired))
        if groups:
            out[rule_id] = Settler(rule_id, groups)
    return out


def settle_sentence(settler: Settler, what: str = "this") -> str:
    """ "Flexion-extension radiographs would settle this." ("DEXA scan or CT of the lumbar spine would ...";
    a field with no test: "Knowing the smoker would settle this."), the tests from rules/fields.yaml;
    `what` names the caution where "this" would not be clear."""
    named = [t for t in settler.tests if t]
    untested = [fields()[n].label for n in settler.fields if not fields()[n].test]
    if untested:
        named.append(f"knowing the {' or '.join(untested)}")
    text = named[0] if len(named) == 1 else f"{', '.join(named[:-1])} or {named[-1]}"
    return f"{text[:1].upper()}{text[1:]} would settle {what}."


# ---- which null fields a caution rests on ----------------------------------------------------


def _open_fields(
    knowledge: Knowledge, expr: cond.Expr, values: dict[str, Any], states: dict[str, str], fired: frozenset[str]
) -> list[str]:
    """The null fields open for this condition, in the order of rules/fields.yaml."""
    found: set[str] = set()
    seen: set[str] = set()

    def visit(e: cond.Expr) -> None:
        found.update(name for name in cond.field_names(e) if name not in values)
        for name in cond.state_names(e) - seen:
            seen.add(name)
            if name in knowledge.tags:  # a tag: what the rules that set it read
                for setter in knowledge.rules:
                    if name in setter.spec.tags and setter.spec.id in fired:
                        visit(setter.expr)
                continue
            finding = knowledge.by_id[name]
            state = states.get(name)
            if state == "unknown":
                found.update(f for f in knowledge.finding_fields[name] if f not in values)
            elif finding.spec.unknown is None and state in finding.states:  # about the unknowns themselves
                visit(finding.states[state])

    visit(expr)
    nullable = {name for name, spec in fields().items() if spec.nullable}
    return [name for name in fields() if name in found and name in nullable]


def _settling_groups(
    knowledge: Knowledge, rule: Compiled, values: dict[str, Any], open_: list[str]
) -> tuple[tuple[str, ...], ...]:
    """Each open field whose value alone stops the rule firing; else all of them together, if that does."""
    alone = tuple((name,) for name in open_ if _stops(knowledge, rule, values, [name]))
    if alone or len(open_) < 2:
        return alone
    return (tuple(open_),) if _stops(knowledge, rule, values, open_) else ()


def _stops(knowledge: Knowledge, rule: Compiled, values: dict[str, Any], names: list[str]) -> bool:
    """Does some combination of candidate values for these fields stop the rule firing?"""
    choices = [_candidates(knowledge, name) for name in names]
    for combo in itertools.islice(itertools.product(*choices), MAX_JOINT_TRIALS):
        trial = {**values, **dict(zip(names, combo, strict=True))}
        if not PatientFactors.allows(trial):
            continue  # a value the contract refuses for this patient settles nothing
        if rule.spec.id not in fired_rules(knowledge, trial)[1]:
            return True
    return False


def _candidates(knowledge: Knowledge, name: str) -> list[Any]:
    return candidate_values(fields()[name], knowledge.thresholds.get(name, set()))
