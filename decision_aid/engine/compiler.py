"""Compile the knowledge into a durable-rules ruleset definition.

Each condition is expanded to disjunctive normal form and each conjunct becomes
one durable-rules rule (an `$or` would fire its action once per true branch).
Field atoms match the patient fact, which carries only known values; finding and
tag atoms match the facts that earlier rules asserted. Nothing clinical is
decided here: the rules come from rules/ and the actions are generic.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from decision_aid.knowledge import conditions as cond
from decision_aid.knowledge.loader import Knowledge

PATIENT = "patient"  # the fact elective rules match
SCREEN = "screen"  # the red-flag fact, asserted first
NEVER = "never asserted"


@dataclass(frozen=True)
class Action:
    """What a compiled rule does when it fires."""

    kind: str  # "red_flag", "finding" or "rule"
    id: str  # red flag, finding or rule id
    state: str = ""  # for a finding: the state it derives
    tags: tuple[str, ...] = ()  # for a rule: the tags it sets


def compile_knowledge(knowledge: Knowledge) -> tuple[dict[str, Any], dict[str, Action]]:
    """The ruleset definition and, for each durable-rules rule name, its action."""
    definition: dict[str, Any] = {}
    actions: dict[str, Action] = {}

    def add(name: str, expr: cond.Expr, fact: str, action: Action) -> None:
        for i, conjunct in enumerate(cond.dnf(expr)):
            rule_name = f"{name}#{i}"
            definition[rule_name] = {"all": _matches(conjunct, fact)}
            actions[rule_name] = action

    # durable-rules crashed (segmentation fault) when deleting a session that held a
    # fact no rule matched; these rules match every screen and patient fact and never fire.
    for fact in (SCREEN, PATIENT):
        definition[f"sentinel:{fact}"] = {"all": [{"m": {"t": fact}}, {"n": {"t": NEVER}}]}
    for c in knowledge.red_flags:
        add(f"red_flag:{c.spec.id}", c.expr, SCREEN, Action("red_flag", c.spec.id))
    for c in knowledge.findings:
        for state, expr in c.states.items():
            add(f"finding:{c.spec.id}:{state}", expr, PATIENT, Action("finding", c.spec.id, state))
    for c in knowledge.rules:
        add(f"rule:{c.spec.id}", c.expr, PATIENT, Action("rule", c.spec.id, tags=tuple(c.spec.tags)))
    return definition, actions


def read_states(knowledge: Knowledge) -> frozenset[tuple[str, str]]:
    """(finding or tag, state) pairs that some condition reads: only these become facts."""
    return frozenset(
        (a.name, a.state) for expr in knowledge.all_conditions() for a in cond.atoms(expr) if isinstance(a, cond.State)
    )


def screen_fields(knowledge: Knowledge) -> tuple[str, ...]:
    """The input fields the red flags read (the screen fact carries only these)."""
    return tuple(sorted({f for c in knowledge.red_flags for f in cond.field_names(c.expr)}))


def _matches(conjunct: cond.Conjunct, fact: str) -> list[dict[str, Any]]:
    """One durable-rules fact pattern for the patient, one per finding or tag atom."""
    field_tests: list[dict[str, Any]] = [{"t": fact}]
    joins: list[dict[str, Any]] = []
    for atom in conjunct:
        if isinstance(atom, cond.State):
            # findings and tags are both asserted as derived facts (a set tag is "present")
            joins.append({"$and": [{"t": "derived"}, {"id": atom.name}, {"state": atom.state}]})
        elif isinstance(atom, cond.Known):
            field_tests.append({"$ex" if atom.known else "$nex": {atom.field: 1}})
        elif isinstance(atom, cond.OneOf):
            field_tests.append({"$or": [{atom.field: v} for v in atom.values]})
        elif isinstance(atom, cond.Compare):
            field_tests.append(_compare(atom))
    patterns = [{"p": {"$and": field_tests}}]
    patterns += [{f"d{i}": join} for i, join in enumerate(joins)]
    return patterns


_DURABLE_OPS = {"<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte"}


def _compare(atom: cond.Compare) -> dict[str, Any]:
    if atom.op == "==":
        return {atom.field: atom.value}
    return {_DURABLE_OPS[atom.op]: {atom.field: atom.value}}
