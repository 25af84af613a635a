"""What would change it: for each option, the nearest single change that moves its verdict.

One factor at a time. A factor the patient can change (smoking, BMI, weeks of
conservative care, bone quality) is only moved in the direction that helps, and
only changes that improve the verdict count; more weeks of conservative care
also advance the symptom duration by the same number of weeks. An unknown
factor is tried "as if measured", in either direction. Red-flag questions are
never varied, and an urgent referral gets no suggestions.

The values tried are those of the missing-information search: just either side
of every threshold the rules in rules/ use for the field, so no clinical
threshold lives here. For each field and option the nearest value that moves
the verdict is kept (the smallest change relative to the field's range); each
option gets at most three suggestions, improvements first.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from decision_aid.engine.assessment import DecisionAid, Explained
from decision_aid.engine.missing import undecided_groups
from decision_aid.engine.verdicts import VERDICT_RANK, fired_for
from decision_aid.knowledge import conditions as cond
from decision_aid.knowledge.fields import FieldSpec, fields
from decision_aid.knowledge.labels import OPTION_NAMES, VERDICT_WORDS
from decision_aid.knowledge.loader import Knowledge, candidate_values
from decision_aid.knowledge.reading import holds
from decision_aid.models import OPTIONS, PatientFactors

MAX_PER_OPTION = 3

# Factors a patient can change, and the direction that helps: +1 higher, -1 lower
# (for smoking: from yes to no), as rules/fields.yaml declares them. Which way is
# better is the knowledge base's to say; this only limits the search to changes a
# patient could make.
MODIFIABLE: dict[str, int] = {name: spec.change.direction for name, spec in fields().items() if spec.change}


@dataclass(frozen=True)
class Suggestion:
    """One change that would move one option's verdict."""

    option: str
    field: str
    value: Any
    from_verdict: str
    to_verdict: str
    text: str
    kind: str  # "modifiable" (a change the patient could make) or "unknown" (if measured as)
    distance: float = 0.0  # size of the change relative to the field's range (0 for a measurement)

    @property
    def improves(self) -> bool:
        return VERDICT_RANK[self.to_verdict] < VERDICT_RANK[self.from_verdict]


@dataclass(frozen=True)
class _Trial:
    field: str
    kind: str
    changes: tuple[tuple[dict[str, Any], Any, float], ...]  # (values to set, shown value, distance), nearest first
    options: frozenset[str] = frozenset(OPTIONS)  # the options this change could move at all


def what_would_change(
    aid: DecisionAid,
    factors: PatientFactors | dict[str, Any],
    explained: Explained | None = None,
    limit: int = MAX_PER_OPTION,
    jurisdiction: str | None = None,
) -> dict[str, list[Suggestion]]:
    """option -> up to `limit` suggestions, improvements first, then the smallest changes.

    The jurisdiction is that of `explained` (else `jurisdiction`, else the default); it is never varied.
    """
    explained = explained or aid.explain(factors, jurisdiction)
    result = explained.result
    if result.urgent:
        return {o: [] for o in OPTIONS}
    knowledge = aid.knowledge
    values = explained.facts
    current = {o: r.verdict for o, r in explained.assessment.options.items()}
    fired = fired_for(knowledge, result)
    cache: dict[tuple, dict[str, str] | None] = {}

    def verdicts_for(changes: dict[str, Any]) -> dict[str, str] | None:
        key = tuple(sorted(changes.items()))
        if key not in cache:
            trial = {**values, **changes}
            cache[key] = aid.verdicts(trial) if PatientFactors.allows(trial) else None
        return cache[key]

    found: dict[str, list[Suggestion]] = {o: [] for o in OPTIONS}
    for trial in _trials(aid, explained):
        names = {trial.field, *filter(None, [_advances(trial.field)])}
        movable = {o for o in trial.options if aid.dependencies.movable(o, names, current[o], fired[o])}
        if trial.kind == "modifiable":
            movable = {o for o in movable if current[o] != "worth_discussing"}
        if movable:
            for option, (value, to, distance) in _search(trial, movable, current, verdicts_for).items():
                text = _sentence(knowledge, trial, value, values, option, to)
                found[option].append(
                    Suggestion(option, trial.field, value, current[option], to, text, trial.kind, distance)
                )
    order = {name: i for i, name in enumerate(fields())}
    return {
        o: sorted(s, key=lambda s: (not s.improves, s.kind != "modifiable", s.distance, order[s.field]))[:limit]
        for o, s in found.items()
    }


def _search(trial: _Trial, movable: set[str], current: dict[str, str], verdicts_for) -> dict[str, tuple]:
    """option -> (value, new verdict, distance) of the change kept for this field.

    A change the patient could make: the nearest value that improves the verdict.
    A measurement: improvements first, then the biggest move, then the first value.
    """
    kept: dict[str, tuple] = {}
    best = {o: _score(current[o], "worth_discussing" if VERDICT_RANK[current[o]] else "not_advised") for o in movable}
    for changes, shown, distance in trial.changes:
        other = verdicts_for(changes)
        if other is None:
            continue
        for o in movable:
            new, old = other[o], current[o]
            if new == old:
                continue
            if trial.kind == "modifiable":
                if o not in kept and VERDICT_RANK[new] < VERDICT_RANK[old]:
                    kept[o] = (shown, new, distance)
            elif o not in kept or _score(old, new) > kept[o][3]:
                kept[o] = (shown, new, distance, _score(old, new))
        done = kept.keys() == movable
        if done and (trial.kind == "modifiable" or all(kept[o][3] == best[o] for o in movable)):
            break  # nothing further along can be nearer or better
    return {o: k[:3] for o, k in kept.items()}


def _score(old: str, new: str) -> tuple[bool, int]:
    return VERDICT_RANK[new] < VERDICT_RANK[old], abs(VERDICT_RANK[new] - VERDICT_RANK[old])


def _trials(aid: DecisionAid, explained: Explained) -> Iterable[_Trial]:
    knowledge, values = aid.knowledge, explained.facts
    red_flag_fields = {f for c in knowledge.red_flags for f in cond.field_names(c.expr)}
    # A field undecided on its own was already tried with these very values by the
    # missing-information search: only the options it listed can move.
    listed = {m.field: frozenset(m.options) for m in explained.assessment.missing_information}
    tried: set[str] = set()  # a field in two undecided groups is tried once
    for group in undecided_groups(aid.dependencies, values, explained.result):
        for name in sorted(set(group) - red_flag_fields - tried):
            options = listed.get(name, frozenset()) if len(group) == 1 else frozenset(OPTIONS)
            # only values a patient in clinic could have (no "if the ASA grade were 5")
            plausible = [v for v in aid.dependencies.candidates[name] if fields()[name].plausibly(v)]
            if options and plausible:
                tried.add(name)
                yield _Trial(name, "unknown", tuple(({name: v}, v, 0.0) for v in plausible), options)
    for name, direction in MODIFIABLE.items():
        if name in values and name not in red_flag_fields:
            changes = _improving_changes(knowledge, fields()[name], values, direction)
            if changes:
                yield _Trial(name, "modifiable", changes)


def _improving_changes(knowledge: Knowledge, spec: FieldSpec, values: dict[str, Any], direction: int) -> tuple:
    now = values[spec.name]
    if spec.kind == "boolean":
        return (({spec.name: False}, False, 1.0),) if now is True and direction < 0 else ()
    span = spec.maximum - spec.minimum
    grid = candidate_values(spec, knowledge.thresholds.get(spec.name, set()))
    ahead = sorted((v for v in grid if (v - now) * direction > 0 and spec.plausibly(v)), key=lambda v: abs(v - now))
    out = []
    for v in ahead:
        changes = {spec.name: v}
        follower = _advances(spec.name)
        if follower:
            changes[follower] = values[follower] + (v - now)
        out.append((changes, v, abs(v - now) / span))
    return tuple(out)


def _advances(name: str) -> str | None:
    """The field that moves with a change of this one (more weeks of care, more weeks of symptoms)."""
    change = fields()[name].change
    return change.advances if change else None


# ---- words ------------------------------------------------------------------------


def _sentence(knowledge: Knowledge, trial: _Trial, value: Any, values: dict[str, Any], option: str, to: str) -> str:
    name = trial.field
    spec = fields()[name]
    if trial.kind == "modifiable" and spec.kind == "boolean" and spec.change.phrase:
        condition = spec.change.phrase
    elif trial.kind == "modifiable" and spec.change.advances:
        more = value - values[name]
        condition = spec.change.phrase.format(more=more, s="s" if more != 1 else "", value=value)
    elif trial.kind == "modifiable":
        scale = _Scale(knowledge, spec)
        condition = f"If {scale.subject} were {scale.bound(value, 'lower' if spec.change.direction > 0 else 'upper')}"
    elif spec.kind == "string" and spec.found:
        condition = f"If {_Scale(knowledge, spec).region(value, spec.found)} were found"
    elif spec.kind == "boolean":
        label = spec.labelled
        no = spec.found.get(False, f"{label} were ruled out")
        yes = spec.found.get(True, f"{label} were found")
        condition = f"If {yes if value else no}"
    else:
        scale = _Scale(knowledge, spec)
        condition = f"If {scale.subject} were found to be {scale.region(value)}"
    return f"{condition}, {OPTION_NAMES[option].lower()} would become '{VERDICT_WORDS[to]}'."


class _Scale:
    """A field's values as the rules divide them, in words ("above -2.5", "moderate or severe")."""

    def __init__(self, knowledge: Knowledge, spec: FieldSpec):
        self.spec = spec
        self.comparisons = _comparisons(knowledge).get(spec.name, [])
        self.thresholds = {round(t, 6) for t in knowledge.thresholds.get(spec.name, set()) if spec.kind != "string"}
        self.subject, self.unit = f"the {spec.label}", spec.unit or ""
        # one decimal throughout when the rules draw a line at a fraction (a T-score of -1.0 and -2.5)
        self.decimals = any(not float(t).is_integer() for t in self.thresholds)

    def show(self, value: Any, unit: bool = True) -> str:
        number = f"{value:.1f}" if self.decimals else f"{value:g}" if isinstance(value, float) else str(value)
        if not unit or not self.unit:
            return number
        return f"{number}{self.unit}" if self.unit == "°" else f"{number} {self.unit}"

    def signature(self, value: Any) -> tuple[bool, ...]:
        """How every comparison on this field in the knowledge base treats the value."""
        return tuple(holds(a, {self.spec.name: value}, {}) for a in self.comparisons)

    def region(self, value: Any, words: dict[str, str] | None = None) -> str:
        """Every value the rules treat like this one."""
        if self.spec.kind == "string":
            here = self.signature(value)
            words = [(words or {}).get(v, v.replace("_", " ")) for v in self.spec.values if self.signature(v) == here]
            return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"
        low, high = self._run(value)
        if low is None and high is None:
            return self.show(value)
        if low is None or high is None:
            return self._phrase(*(high, "upper") if low is None else (low, "lower"))
        if low == high:
            return self.show(low[1])
        if low[0] and high[0]:
            return f"between {self.show(low[1], unit=False)} and {self.show(high[1])}"
        lower = f"{'at least' if low[0] else 'above'} {self.show(low[1])}"
        upper = f"{'at most' if high[0] else 'below'} {self.show(high[1])}"
        return f"{lower} and {upper}"

    def bound(self, value: Any, side: str) -> str:
        """One side only: "above -2.5" / "3 mm or more" (lower), "below 110 HU" / "40 or less" (upper)."""
        return self._phrase(self._edge(value, side), side)

    def _run(self, value: Any) -> tuple[tuple[bool, Any] | None, tuple[bool, Any] | None]:
        """The edges (inclusive, number) of the values treated like `value`; None where open."""
        grid = candidate_values(self.spec, self.thresholds)
        if value not in grid:
            return (True, value), (True, value)
        here = self.signature(value)
        i = j = grid.index(value)
        while i > 0 and self.signature(grid[i - 1]) == here:
            i -= 1
        while j < len(grid) - 1 and self.signature(grid[j + 1]) == here:
            j += 1
        low = None if i == 0 else self._edge(grid[i], "lower")
        high = None if j == len(grid) - 1 else self._edge(grid[j], "upper")
        if low is None and high == (True, self.spec.minimum):
            low = high
        if high is None and low == (True, self.spec.maximum):
            high = low
        return low, high

    def _edge(self, value: Any, side: str) -> tuple[bool, Any]:
        """The grid value just past a threshold reads as "above" (or "below") that threshold."""
        if self.spec.kind == "number":
            beyond = round(value - self.spec.step if side == "lower" else value + self.spec.step, 6)
            if beyond in self.thresholds:
                return False, beyond
        return True, value

    def _phrase(self, edge: tuple[bool, Any], side: str) -> str:
        inclusive, number = edge
        if side == "lower":
            return f"{self.show(number)} or more" if inclusive else f"above {self.show(number)}"
        return f"{self.show(number)} or less" if inclusive else f"below {self.show(number)}"


_COMPARISONS: dict[int, tuple[Knowledge, dict[str, list[cond.Atom]]]] = {}


def _comparisons(knowledge: Knowledge) -> dict[str, list[cond.Atom]]:
    """field -> every comparison on it in the knowledge base (worked out once per knowledge)."""
    known = _COMPARISONS.get(id(knowledge))
    if known is None or known[0] is not knowledge:
        out: dict[str, list[cond.Atom]] = {}
        for expr in knowledge.all_conditions():
            for a in cond.atoms(expr):
                if isinstance(a, (cond.Compare, cond.OneOf)):
                    out.setdefault(a.field, []).append(a)
        known = _COMPARISONS[id(knowledge)] = (knowledge, out)
    return known[1]
