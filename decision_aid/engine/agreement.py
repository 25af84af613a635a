"""Proof that the Python reading (`decision_aid.knowledge.reading`) equals the durable-rules pass.

Exhaustive where the language makes it finite. A comparison only distinguishes the
regions either side of its thresholds, so a field's candidate values (each threshold,
one step either side, null, every allowed string or boolean) stand for all of its
values; the checks run both readings on every combination of them. The settings (the
jurisdiction) are gridded like fields: a condition that names one runs under each of its values.

- every red flag, over the product of its fields' candidates;
- every finding, over the product of the candidates of every field it depends on
  (through other findings too);
- every option rule, over the product of its own fields' candidates, in every context
  of the findings it reads (one witness patient per combination of their states, found
  by the finding check); when those combinations are many, each finding's states are
  varied one at a time instead.

A divergence names the condition and the values. `decision-aid rules check` runs this.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from decision_aid.engine.durable import Engine
from decision_aid.knowledge import conditions as cond
from decision_aid.knowledge import reading
from decision_aid.knowledge.fields import condition_fields, fields
from decision_aid.knowledge.loader import Compiled, Knowledge, candidate_values

# Above this many combinations of finding-state witnesses, a rule's findings vary one at a time.
_MAX_CONTEXTS = 81
# ... or when the rule's own grid times those combinations would exceed this many passes
# (one rule's own grid of 1,000-odd points in 81 contexts took most of a minute).
_MAX_POINTS = 5_000


@dataclass(frozen=True)
class Divergence:
    kind: str  # "red flag", "finding" or "rule"
    id: str
    values: dict[str, Any]
    python: Any
    engine: Any

    def __str__(self) -> str:
        base = _base()
        shown = ", ".join(f"{k}={v!r}" for k, v in sorted(self.values.items()) if base.get(k, ...) != v)
        shown = shown or "the base patient"
        return f"{self.kind} {self.id}: Python reading {self.python!r}, durable-rules {self.engine!r} at {shown}"


@dataclass(frozen=True)
class Report:
    passes: int
    divergences: list[Divergence]


def compare(knowledge: Knowledge, engine: Engine | None = None, limit: int = 20) -> Report:
    """Run both readings on every grid point; stop after `limit` divergences."""
    engine = engine or Engine(knowledge)
    # every input field and every setting: a condition that names the jurisdiction is run under both
    vocabulary = condition_fields()
    grids = {n: candidate_values(s, knowledge.thresholds.get(n, set()), with_null=True) for n, s in vocabulary.items()}
    found: list[Divergence] = []
    passes = 0
    witnesses: dict[str, dict[str, dict[str, Any]]] = {}  # finding -> state -> values giving it

    def run(values: dict[str, Any]):
        nonlocal passes
        passes += 1
        return engine.run(values)

    for flag in knowledge.red_flags:
        for values in _grid(sorted(cond.field_names(flag.expr)), grids):
            python, engine_says = reading.holds(flag.expr, values, {}), flag.spec.id in run(values).red_flags
            if python != engine_says:
                found.append(Divergence("red flag", flag.spec.id, values, python, engine_says))
                break

    for finding in knowledge.findings:
        fid = finding.spec.id
        for values in _grid(sorted(knowledge.finding_fields[fid]), grids):
            python = reading.derive_states(knowledge, values).get(fid)
            result = run(values)
            engine_says = None if result.urgent else result.findings.get(fid)
            if result.urgent:
                continue  # a red flag stops elective reasoning: nothing to compare
            if python != engine_says:
                found.append(Divergence("finding", fid, values, python, engine_says))
                break
            own = knowledge.finding_fields[fid]
            witnesses.setdefault(fid, {}).setdefault(python, {k: v for k, v in values.items() if k in own})
        if len(found) >= limit:
            return Report(passes, found)

    for rule in knowledge.rules:
        for values in _rule_points(knowledge, rule, grids, witnesses):
            result = run(values)
            if result.urgent:
                continue
            _, fired = reading.fired_rules(knowledge, values)
            python, engine_says = rule.spec.id in fired, rule.spec.id in result.fired
            if python != engine_says:
                found.append(Divergence("rule", rule.spec.id, values, python, engine_says))
                break
        if len(found) >= limit:
            break
    return Report(passes, found)


def _base() -> dict[str, Any]:
    """A value for every field that is never null (its default, else its first candidate) and
    every setting (its default), so that a pass derives every finding; the grids vary the fields
    and settings under test."""
    from decision_aid.models import SETTINGS, PatientFactors

    global _BASE
    if _BASE is not None:
        return _BASE
    base: dict[str, Any] = {name: values[0] for name, values in SETTINGS.items()}  # the first is the default
    for name, info in PatientFactors.model_fields.items():
        spec = fields()[name]
        if not spec.nullable:
            base[name] = info.default if not info.is_required() else candidate_values(spec, set())[0]
    _BASE = base
    return base


_BASE: dict[str, Any] | None = None


def _grid(names: list[str], grids: dict[str, list[Any]]) -> Iterator[dict[str, Any]]:
    base = _base()
    for combo in itertools.product(*(grids[n] for n in names)):
        point = {k: v for k, v in base.items() if k not in names}
        point.update({n: v for n, v in zip(names, combo, strict=True) if v is not None})
        yield point


def _rule_points(
    knowledge: Knowledge, rule: Compiled, grids: dict[str, list[Any]], witnesses: dict[str, dict[str, dict]]
) -> Iterator[dict[str, Any]]:
    """The rule's own fields on their grid, in each context of the findings it reads."""
    read = [f for f in sorted(cond.state_names(rule.expr)) if f in witnesses]
    options = [list(witnesses[f].values()) for f in read]
    own = sorted(cond.field_names(rule.expr))
    own_points = _product_size([grids[n] for n in own])
    contexts: list[list[dict[str, Any]]]
    if _product_size(options) <= _MAX_CONTEXTS and _product_size(options) * own_points <= _MAX_POINTS:
        contexts = [list(combo) for combo in itertools.product(*options)]
    else:
        contexts = [[w] for group in options for w in group]
    for context in contexts:
        merged: dict[str, Any] = {}
        for witness in context:
            merged = {**witness, **merged}  # the first finding's witness wins a shared field
        for values in _grid(own, grids):
            yield values | {k: v for k, v in merged.items() if k not in own}


def _product_size(groups: list[list[Any]]) -> int:
    size = 1
    for g in groups:
        size *= len(g)
    return size
