"""The one Python reading of the condition language (durable-rules stays the engine).

Views and what-if searches need to evaluate conditions without an engine pass: the
patient view's `when:` texts, the teaching "because" text, the finding-partition
check at load, and the missing-information screen that skips passes which cannot
matter. They all read conditions here, two-valued (`holds`: as the engine does, a
null never matches a comparison) or three-valued (`undecided_fields`: which nulls
could still decide a condition). `decision_aid.engine.agreement` proves this reading equal
to the durable-rules pass on every threshold grid, and `decision-aid rules check`
runs that proof.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol

from decision_aid.knowledge import conditions as cond

Values = dict[str, Any]
States = dict[str, str]


class Knowledge(Protocol):
    """What this reading needs of a loaded knowledge base (decision_aid.knowledge.loader.Knowledge):
    its compiled red flags, findings (in dependency order) and option rules, each with a
    `spec` (id, options, effects, tags), an `expr` and, for a finding, its `states`."""

    red_flags: tuple[Any, ...]
    findings: tuple[Any, ...]
    rules: tuple[Any, ...]


# ---- two-valued: as the engine matches ---------------------------------------------------


def holds(expr: cond.Expr, values: Values, states: States) -> bool:
    """Evaluate as the engine does: a null (absent) field never matches a comparison.

    `values` holds the known factors only; `states` maps findings to their state
    and set tags to "present".
    """
    entry = _evaluators.get(id(expr))
    if entry is None or entry[0] is not expr:  # keyed by identity: hashing the tree costs more
        entry = _evaluators[id(expr)] = (expr, _evaluator(expr))
    return entry[1](values, states)


_evaluators: dict[int, tuple[cond.Expr, Callable[[Values, States], bool]]] = {}


def _evaluator(expr: cond.Expr) -> Callable[[Values, States], bool]:
    """The condition as a Python function of (values, states).

    The source is built from the parsed, whitelisted condition only: names are
    checked identifiers and values are literals written with repr().
    """
    source = f"lambda v, s: {_python(expr)}"
    return eval(compile(source, "<condition>", "eval"), {"__builtins__": {}})  # noqa: S307


def _python(expr: cond.Expr) -> str:
    if isinstance(expr, (cond.All, cond.Any_)):
        joiner = " and " if isinstance(expr, cond.All) else " or "
        return "(" + joiner.join(_python(p) for p in expr.parts) + ")"
    if isinstance(expr, cond.Always):
        return "True"
    if isinstance(expr, cond.Known):
        return f"({expr.field!r} {'in' if expr.known else 'not in'} v)"
    if isinstance(expr, cond.State):
        return f"(s.get({expr.name!r}) == {expr.state!r})"
    if isinstance(expr, cond.OneOf):
        return f"({expr.field!r} in v and v[{expr.field!r}] in {tuple(expr.values)!r})"
    return f"({expr.field!r} in v and v[{expr.field!r}] {expr.op} {expr.value!r})"


# ---- three-valued: what a null leaves open ----------------------------------------------


def undecided_fields(expr: cond.Expr, values: Values, states: States) -> set[str]:
    """The null fields whose value would decide `expr`, or an empty set when it is decided.

    Three-valued (Kleene) reading: a comparison on a null field could go either
    way; `is unknown` is decided (true) for a null field; a finding in state
    `unknown` leaves `is present` and `is absent` undecided.
    """
    truth, fields_ = _kleene(expr, values, states)
    return fields_ if truth is None else set()


def _kleene(expr: cond.Expr, values: Values, states: States) -> tuple[bool | None, set[str]]:
    if isinstance(expr, (cond.All, cond.Any_)):
        results = [_kleene(p, values, states) for p in expr.parts]
        decisive = isinstance(expr, cond.Any_)  # True decides an `or`, False decides an `and`
        if any(t is decisive for t, _ in results):
            return decisive, set()
        open_ = [f for t, f in results if t is None]
        if open_:
            return None, set().union(*open_)
        return not decisive, set()
    if isinstance(expr, cond.Compare | cond.OneOf) and expr.field not in values:
        return None, {expr.field}
    if isinstance(expr, cond.State) and states.get(expr.name) == "unknown" and expr.state in ("present", "absent"):
        return None, set()
    return holds(expr, values, states), set()


# ---- the rules read in Python --------------------------------------------------------------


def derive_states(
    knowledge: Knowledge, values: Values, upto: str | None = None, only: Iterable[Any] | None = None
) -> States:
    """Findings' states from known values, in dependency order.

    `upto` stops before that finding; `only` restricts the work to some findings
    (with every finding they read, in dependency order).
    """
    states: States = {}
    for finding in knowledge.findings if only is None else only:
        if finding.spec.id == upto:
            break
        for state, expr in finding.states.items():
            if holds(expr, values, states):
                states[finding.spec.id] = state
                break
    return states


def red_flags(knowledge: Knowledge, values: Values) -> tuple[str, ...]:
    """The red flags present, by id."""
    return tuple(c.spec.id for c in knowledge.red_flags if holds(c.expr, values, {}))


def fired_rules(knowledge: Knowledge, values: Values) -> tuple[States, frozenset[str]]:
    """Finding states and tags, and the ids of the option rules that fire (no red flag assumed)."""
    states = derive_states(knowledge, values)
    fired: set[str] = set()
    changed = True
    while changed:  # rules that read tags see the tags other rules set, as in the engine
        changed = False
        for c in knowledge.rules:
            if c.spec.id not in fired and holds(c.expr, values, states):
                fired.add(c.spec.id)
                for tag in c.spec.tags:
                    if tag not in states:
                        states[tag] = "present"
                        changed = True
    return states, frozenset(fired)


def fired_effects(knowledge: Knowledge, values: Values) -> dict[str, list[str]] | None:
    """option -> the effects of the rules that fire; None when a red flag is present."""
    if red_flags(knowledge, values):
        return None
    _, fired = fired_rules(knowledge, values)
    effects: dict[str, list[str]] = {}
    for c in knowledge.rules:
        if c.spec.id in fired:
            for option in c.spec.options:
                effects.setdefault(option, []).extend(c.spec.effects)
    return effects
