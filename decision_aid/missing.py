"""Missing information: which unknown factors could change which verdicts.

For each null field that leaves a finding or a rule condition undecided, the
patient is re-assessed with candidate values (just either side of every
threshold the rules use for that field; every allowed value of a string or
boolean) and the field is listed with the options whose verdict changed.
Candidates come from rules/, and passes that cannot matter are skipped: fields
that decide nothing, values that every rule treats alike, and fields whose
options are all excluded by rules that do not depend on them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from decision_aid import conditions as cond
from decision_aid.engine import PassResult
from decision_aid.knowledge import Knowledge, candidate_values, finding_fields
from decision_aid.models import OPTIONS, MissingInformation, OptionAssessment, PatientFactors
from decision_aid.vocabulary import fields

Reassess = Callable[[dict[str, Any]], dict[str, OptionAssessment]]


@dataclass(frozen=True)
class Dependencies:
    """What each field can reach in the knowledge base, computed once per knowledge."""

    knowledge: Knowledge

    @cached_property
    def options_reached(self) -> dict[str, set[str]]:
        """field -> the options whose rules depend on it, directly, via findings or via tags."""
        reach: dict[str, set[str]] = {}
        for c in self.knowledge.rules:
            if c.spec.effects:
                for f in self.rule_fields(c.spec.id):
                    reach.setdefault(f, set()).update(c.spec.options)
        return reach

    def rule_fields(self, rule_id: str) -> set[str]:
        """The fields a rule depends on, through findings and the rules that set its tags."""
        c = self.knowledge.by_id[rule_id]
        out = set(cond.field_names(c.expr))
        for name in cond.state_names(c.expr):
            if name in self.knowledge.tags:
                for setter in self.knowledge.rules:
                    if name in setter.spec.tags:
                        out |= self.rule_fields(setter.spec.id)
            else:
                out |= finding_fields(self.knowledge, name)
        return out

    @cached_property
    def candidates(self) -> dict[str, list[Any]]:
        """field -> candidate values, one per region that the rules tell apart."""
        out = {}
        for name, spec in fields().items():
            if not spec.nullable:
                continue
            values = candidate_values(spec, self.knowledge.thresholds.get(name, set()))
            atoms = [
                a for expr in self.knowledge.all_conditions() for a in cond.atoms(expr)
                if isinstance(a, (cond.Compare, cond.OneOf)) and a.field == name
            ]
            seen, kept = set(), []
            for v in values:
                signature = tuple(cond.holds(a, {name: v}, {}) for a in atoms)
                if signature not in seen:
                    seen.add(signature)
                    kept.append(v)
            out[name] = kept
        return out

    @cached_property
    def excludes_fields(self) -> dict[str, set[str]]:
        """option -> the fields its excluding rules depend on."""
        out: dict[str, set[str]] = {o: set() for o in OPTIONS}
        for c in self.knowledge.rules:
            if "excludes" in c.spec.effects:
                for o in c.spec.options:
                    out[o] |= self.rule_fields(c.spec.id)
        return out


def undecided(knowledge: Knowledge, values: dict[str, Any], result: PassResult) -> set[str]:
    """Null fields that leave a finding or a rule condition undecided."""
    out: set[str] = set()
    for finding in knowledge.findings:
        if result.findings.get(finding.spec.id) == "unknown":
            out |= {f for f in finding_fields(knowledge, finding.spec.id) if f not in values}
    states = {**result.findings, **{t: "present" for t in result.tags}}
    for c in knowledge.rules:
        if c.spec.effects:
            out |= cond.undecided_fields(c.expr, values, states)
    return {f for f in out if fields()[f].nullable}


def search(
    deps: Dependencies,
    values: dict[str, Any],
    result: PassResult,
    verdicts: dict[str, OptionAssessment],
    reassess: Reassess,
) -> tuple[list[MissingInformation], int]:
    """The missing-information list, and how many passes it took."""
    if result.urgent:
        return [], 0
    passes = 0
    found = []
    for name in sorted(undecided(deps.knowledge, values, result)):
        movable = {
            o for o in deps.options_reached.get(name, set())
            if verdicts[o].verdict != "not_applicable" or name in deps.excludes_fields[o]
        }
        changed: set[str] = set()
        for value in deps.candidates[name]:
            if changed == movable:
                break
            passes += 1
            other = reassess({**values, name: value})
            changed |= {o for o in movable if other[o].verdict != verdicts[o].verdict}
        if changed:
            found.append(_entry(name, changed))
    found.sort(key=lambda m: (-len(m.options), m.field))
    return found, passes


def _entry(name: str, changed: set[str]) -> MissingInformation:
    options = [o for o in OPTIONS if o in changed]
    meaning = PatientFactors.model_fields[name].description
    about = f" ({meaning})" if meaning else ""
    shown = ", ".join(o.replace("_", " ") for o in options)
    return MissingInformation(
        field=name,
        why=f"{name}{about} is not known; depending on its value the verdict could change for: {shown}.",
        options=options,
    )
