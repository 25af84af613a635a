"""`rules diff` as data: what moving a cohort from one knowledge base to another changes.

For each jurisdiction and option: the matrix of verdict transitions (old verdict -> new verdict,
counts over the valid patients), every patient id of each transition off the diagonal, and up to
three example patients per transition with their reasons before and after (and the values of the
fields the rules involved read); each rule whose firing count changed; and every teaching case
whose verdict changes between the two bases or whose recorded answer differs from the new one.

The result is a plain JSON-ready dict (`compare`); `render` turns it into Markdown or HTML.
Both bases run over the very same rows; a row invalid under the contract is listed, never counted.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from decision_aid.knowledge import conditions as cond
from decision_aid.knowledge.labels import show_value
from decision_aid.knowledge.loader import Knowledge
from decision_aid.models import OPTIONS, VERDICTS, parse_factors
from decision_aid.views.teaching import Case

from .passes import PatientResult, Row, evaluate

EXAMPLES_PER_TRANSITION = 3
Run = Callable[[Sequence[Row], Knowledge, Path, str], Iterable[PatientResult]]


def compare(
    old: Knowledge,
    new: Knowledge,
    rows: Sequence[Row],
    jurisdictions: Sequence[str],
    run: Run,
    cases: Sequence[Case] = (),
    names: tuple[str, str] | None = None,
    cohort: str = "",
) -> dict[str, Any]:
    """The diff report of `rows` under `old` and `new`, in each of `jurisdictions`."""
    by_id = {str(r.id): r for r in rows}
    report: dict[str, Any] = {
        "kind": "rules diff",
        "old": {"version": old.version, "rules": names[0] if names else str(old.directory)},
        "new": {"version": new.version, "rules": names[1] if names else str(new.directory)},
        "cohort": {"description": cohort, "rows": len(rows), "invalid": []},
        "jurisdictions": {},
    }
    invalid: dict[str, list[str]] = {}
    for jurisdiction in jurisdictions:
        before = list(run(rows, old, old.directory, jurisdiction))
        after = list(run(rows, new, new.directory, jurisdiction))
        for a, b in zip(before, after, strict=True):
            if not (a.valid and b.valid):
                invalid.setdefault(a.id, list(a.problems or b.problems))
        pairs = [(a, b) for a, b in zip(before, after, strict=True) if a.valid and b.valid]
        report["jurisdictions"][jurisdiction] = _jurisdiction(old, new, pairs, by_id, jurisdiction)
    report["cohort"]["invalid"] = [{"id": i, "problems": p} for i, p in invalid.items()]
    report["cohort"]["assessed"] = len(rows) - len(invalid)
    report["teaching_cases"] = _cases(old, new, [c for c in cases if c.jurisdiction in jurisdictions])
    report["changed"] = bool(report["teaching_cases"]) or any(
        j["changed_patients"] or j["rules"] for j in report["jurisdictions"].values()
    )
    return report


def _jurisdiction(
    old: Knowledge,
    new: Knowledge,
    pairs: list[tuple[PatientResult, PatientResult]],
    by_id: dict[str, Row],
    jurisdiction: str,
) -> dict[str, Any]:
    options = {}
    changed_ids: set[str] = set()
    for option in OPTIONS:
        matrix = {v: dict.fromkeys(VERDICTS, 0) for v in VERDICTS}
        moved: dict[tuple[str, str], list[tuple[PatientResult, PatientResult]]] = {}
        for a, b in pairs:
            was, now = a.verdicts[option], b.verdicts[option]
            matrix[was][now] += 1
            if was != now:
                moved.setdefault((was, now), []).append((a, b))
                changed_ids.add(a.id)
        transitions = [
            {
                "from": was,
                "to": now,
                "count": len(found),
                "ids": [a.id for a, _ in found],
                "examples": [
                    _example(old, new, option, a, b, by_id[a.id], jurisdiction)
                    for a, b in found[:EXAMPLES_PER_TRANSITION]
                ],
            }
            for (was, now), found in sorted(moved.items(), key=lambda item: (-len(item[1]), item[0]))
        ]
        options[option] = {
            "matrix": matrix,
            "changed": sum(t["count"] for t in transitions),
            "transitions": transitions,
        }
    fired_old = Counter(r for a, _ in pairs for r in set(a.fired))
    fired_new = Counter(r for _, b in pairs for r in set(b.fired))
    rules = [
        {
            "id": rule_id,
            "label": _label(new, rule_id, jurisdiction) or _label(old, rule_id, jurisdiction),
            "old": fired_old[rule_id],
            "new": fired_new[rule_id],
            "in_old": rule_id in old.by_id,
            "in_new": rule_id in new.by_id,
        }
        for rule_id in sorted(set(fired_old) | set(fired_new) | _rule_ids(old) ^ _rule_ids(new))
        if fired_old[rule_id] != fired_new[rule_id] or (rule_id in old.by_id) != (rule_id in new.by_id)
    ]
    return {"patients": len(pairs), "changed_patients": len(changed_ids), "options": options, "rules": rules}


def _rule_ids(knowledge: Knowledge) -> set[str]:
    return {c.spec.id for c in (*knowledge.red_flags, *knowledge.rules)}


def _label(knowledge: Knowledge, rule_id: str, jurisdiction: str) -> str:
    found = knowledge.by_id.get(rule_id)
    if found is None:
        return ""
    spec = found.spec.in_(jurisdiction) if hasattr(found.spec, "in_") else found.spec
    return getattr(spec, "label", rule_id)


def _example(
    old: Knowledge, new: Knowledge, option: str, a: PatientResult, b: PatientResult, row: Row, jurisdiction: str
) -> dict[str, Any]:
    """One patient of a transition: reasons before and after, and the values the rules involved read."""
    before = [_reason(old, r, e, jurisdiction) for r, e in a.reasons[option]]
    after = [_reason(new, r, e, jurisdiction) for r, e in b.reasons[option]]
    involved = set(a.reasons[option]) ^ set(b.reasons[option])
    names: set[str] = set()
    for knowledge in (old, new):
        for rule_id, _ in involved:
            names |= _fields_read(knowledge, rule_id)
    patient = parse_factors(row.patient).model_dump()
    values = {n: show_value(n, patient[n]) for n in patient if n in names}
    return {"id": a.id, "before": before, "after": after, "values": values}


def _reason(knowledge: Knowledge, rule_id: str, effect: str, jurisdiction: str) -> dict[str, str]:
    return {"rule_id": rule_id, "effect": effect, "label": _label(knowledge, rule_id, jurisdiction)}


def _fields_read(knowledge: Knowledge, rule_id: str) -> set[str]:
    """The input fields a rule reads, directly or through the findings its condition names."""
    found = knowledge.by_id.get(rule_id)
    if found is None:
        return set()
    names = set(cond.field_names(found.expr))
    for state in cond.state_names(found.expr):
        names |= knowledge.finding_fields.get(state, frozenset())
    return names


def _cases(old: Knowledge, new: Knowledge, cases: Sequence[Case]) -> list[dict[str, Any]]:
    """Teaching cases whose verdicts differ between the bases, or whose recorded answer differs from the new
    (each under its own jurisdiction, in this process: a few dozen passes)."""
    out = []
    for jurisdiction in sorted({c.jurisdiction for c in cases}):
        chosen = [c for c in cases if c.jurisdiction == jurisdiction]
        rows = [_CaseRow(c) for c in chosen]
        before = list(evaluate(rows, old, jurisdiction))
        after = list(evaluate(rows, new, jurisdiction))
        for case, a, b in zip(chosen, before, after, strict=True):
            changes = [
                {"option": o, "expected": case.spec.expected[o], "old": a.verdicts.get(o), "new": b.verdicts.get(o)}
                for o in OPTIONS
                if a.verdicts.get(o) != b.verdicts.get(o) or case.spec.expected[o] != b.verdicts.get(o)
            ]
            if changes:
                out.append(
                    {
                        "id": case.id,
                        "title": case.title,
                        "file": case.file,
                        "jurisdiction": jurisdiction,
                        "changes": changes,
                    }
                )
    return sorted(out, key=lambda c: (c["file"], c["id"]))


class _CaseRow:
    def __init__(self, case: Case):
        self.id, self.performed, self.patient = f"case/{case.id}", None, case.patient
