"""Missing information: which unknown factors could change which verdicts.

For each null field that leaves a finding or a rule condition undecided, the
patient is re-assessed with candidate values (just either side of every
threshold the rules use for that field; every allowed value of a string or
boolean) and the field is listed with the options whose verdict changed. The
null fields that together leave one finding unknown (both flexion-extension
measurements, say) are tried together, since one alone cannot decide it.

Candidates come from rules/. Passes that cannot matter are skipped: values that
every rule treats alike, and options that the field cannot move (an option kept
out by a rule that does not depend on the field stays out).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from decision_aid.engine.durable import PassResult
from decision_aid.engine.verdicts import aggregate
from decision_aid.knowledge import conditions as cond
from decision_aid.knowledge.fields import condition_fields, fields
from decision_aid.knowledge.loader import (
    Compiled,
    Knowledge,
    candidate_values,
    finding_fields,
    with_dependencies,
)
from decision_aid.knowledge.reading import derive_states, fired_effects, holds, undecided_fields
from decision_aid.models import OPTIONS, MissingInformation, PatientFactors

Reassess = Callable[[dict[str, Any]], dict[str, str]]


@dataclass
class Dependencies:
    """What each field can reach in the knowledge base, computed once per knowledge."""

    knowledge: Knowledge
    _rule_fields: dict[str, frozenset[str]] = field(default_factory=dict)
    _views: dict[tuple[str, ...], tuple[list[str], list[Compiled], list[cond.Atom]]] = field(default_factory=dict)

    def rule_fields(self, rule_id: str) -> frozenset[str]:
        """The fields a rule depends on: directly, through findings, and through tags."""
        if rule_id not in self._rule_fields:
            c = self.knowledge.by_id[rule_id]
            out = set(cond.field_names(c.expr))
            for name in cond.state_names(c.expr):
                if name in self.knowledge.tags:
                    for setter in self.knowledge.rules:
                        if name in setter.spec.tags:
                            out |= self.rule_fields(setter.spec.id)
                else:
                    out |= finding_fields(self.knowledge, name)
            self._rule_fields[rule_id] = frozenset(out)
        return self._rule_fields[rule_id]

    def fields_of(self, effect: str) -> dict[str, set[str]]:
        """option -> the fields that rules with this effect on it depend on."""
        out: dict[str, set[str]] = {o: set() for o in OPTIONS}
        for c in self.knowledge.rules:
            if effect in c.spec.effects:
                for o in c.spec.options:
                    out[o] |= self.rule_fields(c.spec.id)
        return out

    @cached_property
    def direct_fields(self) -> list[tuple[Compiled, frozenset[str]]]:
        """Each rule with effects, with the fields its own condition names."""
        return [(c, frozenset(cond.field_names(c.expr))) for c in self.knowledge.rules if c.spec.effects]

    @cached_property
    def reached(self) -> dict[str, set[str]]:
        """option -> every field its verdict depends on."""
        out: dict[str, set[str]] = {o: set() for o in OPTIONS}
        for effect in ("supports", "cautions", "opposes", "excludes"):
            for o, names in self.fields_of(effect).items():
                out[o] |= names
        return out

    @cached_property
    def supports_fields(self) -> dict[str, set[str]]:
        return self.fields_of("supports")

    @cached_property
    def excludes_fields(self) -> dict[str, set[str]]:
        return self.fields_of("excludes")

    @cached_property
    def candidates(self) -> dict[str, list[Any]]:
        """field -> candidate values, one per region that the rules tell apart."""
        out = {}
        for name, spec in fields().items():
            if not spec.nullable:
                continue
            values = candidate_values(spec, self.knowledge.thresholds.get(name, set()))
            atoms = [
                a
                for expr in self.knowledge.all_conditions()
                for a in cond.atoms(expr)
                if isinstance(a, (cond.Compare, cond.OneOf)) and a.field == name
            ]
            seen, kept = set(), []
            for v in values:
                signature = tuple(holds(a, {name: v}, {}) for a in atoms)
                if signature not in seen:
                    seen.add(signature)
                    kept.append(v)
            out[name] = kept
        return out

    def signature(self, group: tuple[str, ...], values: dict[str, Any]) -> tuple:
        """Everything the rules can see of these fields: the states of the findings that
        depend on them and the truth of every rule atom that names them. Two sets of
        values with the same signature give the same engine result."""
        findings, needed, atoms = self._seen_through(group)
        states = derive_states(self.knowledge, values, only=needed) if findings else {}
        return tuple(states.get(f) for f in findings), tuple(holds(a, values, {}) for a in atoms)

    def _seen_through(self, group: tuple[str, ...]) -> tuple[list[str], list[Compiled], list[cond.Atom]]:
        if group not in self._views:
            names = set(group)
            kb = self.knowledge
            findings = [c.spec.id for c in kb.findings if names & kb.finding_fields[c.spec.id]]
            atoms = [
                a
                for c, direct in self.direct_fields
                if names & direct
                for a in cond.atoms(c.expr)
                if getattr(a, "field", None) in names
            ]
            self._views[group] = (findings, with_dependencies(kb, findings), atoms)
        return self._views[group]

    def movable(self, option: str, names: Iterable[str], verdict: str, fired: list[Compiled]) -> bool:
        """Could changing these fields change this option's verdict?"""
        names = set(names)
        if not names & self.reached[option]:
            return False
        kept = [c for c in fired if not names & self.rule_fields(c.spec.id)]  # fire whatever the values
        if any("excludes" in c.spec.effects for c in kept):
            return False
        could_exclude = bool(names & self.excludes_fields[option])
        if verdict == "not_applicable":
            return could_exclude
        if verdict == "not_advised" and not could_exclude:
            if any("opposes" in c.spec.effects for c in kept):
                return False
            has_support = any("supports" in c.spec.effects for c in fired)
            if not has_support and not names & self.supports_fields[option]:
                return False
        return True


def undecided_groups(deps: Dependencies, values: dict[str, Any], result: PassResult) -> dict[tuple[str, ...], set[str]]:
    """Null fields that leave a finding or a rule condition undecided, grouped, with the
    options whose verdict they may be credited with.

    The null fields of one unknown finding form one group and may change any
    option. A field that leaves only a rule's own condition undecided is a group
    of its own and is credited only with the options of those rules: a field that
    a convention already decides elsewhere (films with no slip) must not be
    listed for what it would change through that decided finding.
    """
    knowledge = deps.knowledge
    groups: dict[tuple[str, ...], set[str]] = {}
    for finding in knowledge.findings:
        if result.findings.get(finding.spec.id) == "unknown":
            nulls = tuple(sorted(f for f in finding_fields(knowledge, finding.spec.id) if f not in values))
            if nulls:
                groups[nulls] = set(OPTIONS)
    states = {**result.findings, **{t: "present" for t in result.tags}}
    grouped = {f for g in groups for f in g}
    for c, direct in deps.direct_fields:
        if not direct.issubset(values):  # only a null field can leave a condition undecided
            for name in undecided_fields(c.expr, values, states) - grouped:
                groups.setdefault((name,), set()).update(c.spec.options)
    vocabulary = condition_fields()  # a setting (the jurisdiction) is never null, so never missing
    return {g: groups[g] for g in sorted(groups) if all(vocabulary[f].nullable for f in g)}


def search(
    deps: Dependencies,
    values: dict[str, Any],
    result: PassResult,
    verdicts: dict[str, str],
    fired: dict[str, list[Compiled]],
    reassess: Reassess,
) -> tuple[list[MissingInformation], int]:
    """The missing-information list, and how many engine passes it took."""
    if result.urgent:
        return [], 0
    trials = _Trials(deps, values, verdicts, reassess)
    credit: dict[str, set[str]] = {}
    for group, credited in undecided_groups(deps, values, result).items():
        movable = {o for o in credited if deps.movable(o, group, verdicts[o], fired[o])}
        for name, options in _search_group(trials, group, movable).items():
            credit.setdefault(name, set()).update(options)
    found = [_entry(name, options) for name, options in credit.items() if options]
    found.sort(key=lambda m: (-len(m.options), m.field))
    return found, trials.passes


def _search_group(trials: _Trials, group: tuple[str, ...], movable: set[str]) -> dict[str, set[str]]:
    """field -> the options its value can change, trying the group's values together.

    In a joint trial a field is credited with a change only if it is needed:
    leaving that field unknown again undoes the change. Candidates are screened with
    the Python reading of the rules; every credited change is then confirmed on the
    engine (its witness trial changes the verdict, and without the field it does not).
    """
    witnesses: dict[str, dict[str, tuple[dict[str, Any], dict[str, Any]]]] = {name: {} for name in group}
    if not movable:
        return {name: set() for name in group}
    # In a group each field may also stay unknown, so a field that decides the finding
    # by itself is tried alone too (either bone measure makes bone quality known).
    choices = [trials.deps.candidates[f] + ([None] if len(group) > 1 else []) for f in group]
    for combo in itertools.product(*choices):
        if all(witnesses[name].keys() == movable for name in group):
            break
        trial = {name: value for name, value in zip(group, combo, strict=True) if value is not None}
        if trial and not PatientFactors.allows({**trials.values, **trial}):
            continue  # a value the cross-field checks refuse for this patient is no candidate
        changed = trials.changed(group, trial, movable, confirm=False) if trial else set()
        for name in group:
            for option in changed - witnesses[name].keys():
                without = {k: v for k, v in trial.items() if k != name}
                if option not in trials.changed(group, without, {option}, confirm=False):
                    witnesses[name][option] = (trial, without)
    return {
        name: {
            option
            for option, (trial, without) in found.items()
            if option in trials.changed(group, trial, {option}, confirm=True)
            and option not in trials.changed(group, without, {option}, confirm=True)
        }
        for name, found in witnesses.items()
    }


class _Trials:
    """Re-assessments of one patient with some unknown fields set.

    Two sets of values that the rules cannot tell apart (same signature) are tried
    once. `confirm=False` reads the rules in Python (cheap, to screen candidates);
    `confirm=True` runs the engine, whose answer is what the user is told.
    """

    def __init__(self, deps: Dependencies, values: dict[str, Any], verdicts: dict[str, str], reassess: Reassess):
        self.deps, self.values, self.verdicts, self.reassess = deps, values, verdicts, reassess
        self.passes = 0
        self._predicted: dict[tuple, dict[str, str]] = {}
        self._confirmed: dict[tuple, dict[str, str]] = {}

    def changed(self, group: tuple[str, ...], trial: dict[str, Any], options: set[str], confirm: bool) -> set[str]:
        """The options among `options` whose verdict differs once `trial` is set."""
        values = {**self.values, **trial}
        signature = (group, self.deps.signature(group, values))
        done = self._confirmed if confirm else self._predicted
        if signature not in done:
            if not trial or signature == (group, self.deps.signature(group, self.values)):
                done[signature] = self.verdicts  # the rules see no difference from the patient as is
            elif confirm:
                self.passes += 1
                done[signature] = self.reassess(values)
            else:
                done[signature] = predict_verdicts(self.deps.knowledge, values)
        outcome = done[signature]
        return {o for o in options if outcome[o] != self.verdicts[o]}


def _entry(name: str, changed: set[str]) -> MissingInformation:
    options = [o for o in OPTIONS if o in changed]
    meaning = PatientFactors.model_fields[name].description
    about = f" ({meaning})" if meaning else ""
    shown = ", ".join(o.replace("_", " ") for o in options)
    return MissingInformation(
        field=name,
        why=f"{name}{about} is not known; depending on its value the verdict could change for: {shown}.",
        options=options,
        test=fields()[name].test,
    )


@dataclass(frozen=True)
class Ask:
    """Missing information as a view asks for it: one test (or one field) at a time."""

    test: str | None  # how the values are obtained; None for a field asked on its own
    items: tuple[MissingInformation, ...]

    @property
    def options(self) -> list[str]:
        """Every option one of these values could change, in the contract's order."""
        return [o for o in OPTIONS if any(o in item.options for item in self.items)]


def by_test(items: Iterable[MissingInformation]) -> list[Ask]:
    """Items grouped by the test that obtains them (both flexion-extension measurements as
    "flexion-extension radiographs"), the groups that could change the most verdicts first;
    within a group, the assessment's order."""
    groups: dict[str, list[MissingInformation]] = {}
    for item in items:
        groups.setdefault(item.test or f"field:{item.field}", []).append(item)
    asks = [Ask(group[0].test, tuple(group)) for group in groups.values()]
    return sorted(asks, key=lambda ask: -len(ask.options))


def predict_verdicts(knowledge: Knowledge, values: dict[str, Any]) -> dict[str, str]:
    """option -> verdict as the engine would give it (the Python reading, proved equal by
    decision_aid.engine.agreement): a screen that skips passes which cannot change a verdict."""
    effects = fired_effects(knowledge, values)
    if effects is None:
        return dict.fromkeys(OPTIONS, "not_applicable")
    return {o: aggregate(effects.get(o, [])) for o in OPTIONS}
