"""What a worker does with rows: assess them with its own engine, built once per knowledge base.

A worker (the main process when serial, a pool process, a Dask worker) keeps one DecisionAid
per knowledge base it has been asked for, keyed by the folder (None: the installed rules/), so
two knowledge bases (a rules diff's OLD and NEW) live side by side in one process: each
compiles to its own durable-rules ruleset, with a name no other takes (see decision_aid.engine.durable),
and each pass deletes its session, so neither comes near the 1,024 live sessions a ruleset holds.

durable-rules is not thread-safe: every pass in this process runs under one lock (a Dask
worker may run several threads), whichever engine it uses.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

from decision_aid.cohorts.rows import CohortRow, Outcome
from decision_aid.engine.assessment import DecisionAid, default_aid
from decision_aid.errors import InputError
from decision_aid.knowledge.loader import load

EMPTY = "empty line: expected one patient as a JSON object"

_aids: dict[str, DecisionAid] = {}
_lock = threading.Lock()  # one engine call at a time in this process, whichever engine


def aid_for(rules_dir: str | None) -> DecisionAid:
    """This process's DecisionAid for the knowledge base in `rules_dir` (None: the installed one)."""
    with _lock:
        if rules_dir is None:
            return default_aid()
        aid = _aids.get(rules_dir)
        if aid is None:
            aid = _aids[rules_dir] = DecisionAid(load(Path(rules_dir)))
        return aid


def assess_rows(
    rows: Sequence[tuple[int, CohortRow]],
    rules_dir: str | None,
    jurisdiction: str,
    explain: bool,
    missing: bool = True,
) -> list[Outcome]:
    """Assess numbered rows (position from 1, row) in order; each result carries its JSON text."""
    aid = aid_for(rules_dir)
    with _lock:
        outcomes = [assess_row(row, position, aid, jurisdiction, explain, missing) for position, row in rows]
    for outcome in outcomes:
        outcome.json  # noqa: B018 (made here, on the worker: it is what crosses to the main process)
    return outcomes


def assess_row(
    row: CohortRow, position: int, aid: DecisionAid, jurisdiction: str, explain: bool, missing: bool = True
) -> Outcome:
    """One row's outcome: its assessment, or its problems (an invalid row never raises).

    missing=False: no missing-information search (the assessment's missing_information is empty).
    """
    read_problems = getattr(row, "problems", ())  # any object with id, performed and patient will do
    if read_problems:
        return Outcome(row.id, row.performed, problems=list(read_problems), row=position)
    try:
        if isinstance(row.patient, bytes) and not row.patient.strip():
            raise InputError([])
        explained = aid.explain(row.patient, jurisdiction, missing=missing)
    except InputError as error:
        where = getattr(row, "where", "")
        problems = [f"{p} ({where})" if where else str(p) for p in error.problems] or [EMPTY]
        return Outcome(row.id, row.performed, problems=problems, row=position)
    except Exception as error:  # a bug: reported in its row's place, and the rest go on
        return Outcome(row.id, row.performed, problems=[f"internal error: {error!r}"], failed=True, row=position)
    result = explained.result
    fired = (*result.red_flags, *result.fired) if explain else None
    return Outcome(row.id, row.performed, explained.assessment, fired=fired, row=position)
