"""Each patient of a cohort through one knowledge base: the verdict and reasons of every option, and
the rules that fired. This is all that `rules diff` and `audit` read.

Two routes give the same `PatientResult`s, in cohort order:
- `evaluate`: in this process, one engine pass and the verdict aggregation per patient (no
  missing-information search, which neither report reads: about five times faster);
- `via_runner`: the cohort runner (`decision_aid.cohorts.runner.run_cohort`: a process pool or a
  Dask cluster), asked for the same work (`missing=False`: no missing-information search), whose
  assessments are reduced to the same record.

An invalid row gives a result with `problems` and no verdicts; it is never dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from decision_aid.engine import verdicts as aggregation
from decision_aid.engine.assessment import DecisionAid
from decision_aid.errors import InputError
from decision_aid.knowledge.loader import Knowledge
from decision_aid.models import Assessment, parse_factors, parse_jurisdiction

Reasons = tuple[tuple[str, str], ...]  # (rule id, effect), in the contract's order


class Row(Protocol):
    """A cohort row (decision_aid.cohorts.rows.CohortRow, which the default cohort uses too)."""

    id: Any
    performed: str | None
    patient: Any


@dataclass(frozen=True)
class PatientResult:
    id: str
    performed: str | None
    verdicts: dict[str, str] = field(default_factory=dict)  # option -> verdict (empty when invalid)
    reasons: dict[str, Reasons] = field(default_factory=dict)  # option -> its reasons
    fired: tuple[str, ...] = ()  # red flags and rules that fired, each once
    problems: tuple[str, ...] = ()  # why the row is invalid

    @property
    def valid(self) -> bool:
        return not self.problems


def evaluate(rows: Iterable[Row], knowledge: Knowledge, jurisdiction: str) -> Iterator[PatientResult]:
    """Every row under `knowledge` and `jurisdiction`, in this process, in order."""
    aid = DecisionAid(knowledge)
    where = parse_jurisdiction(jurisdiction)
    for row in rows:
        if getattr(row, "problems", ()):  # the reader could not read it as a patient
            yield PatientResult(str(row.id), row.performed, problems=tuple(row.problems))
            continue
        try:
            patient = parse_factors(row.patient)
        except InputError as error:
            found = getattr(row, "where", "")  # "row N" of a CSV or Parquet row, as the cohort runner adds it
            problems = tuple(f"{p} ({found})" if found else str(p) for p in error.problems)
            yield PatientResult(str(row.id), row.performed, problems=problems)
            continue
        result = aid.engine.run({**patient.known_values(), "jurisdiction": where})
        options = aggregation.decide(knowledge, result, where)
        yield PatientResult(
            str(row.id),
            row.performed,
            {o: a.verdict for o, a in options.items()},
            {o: tuple((r.rule_id, r.effect) for r in a.reasons) for o, a in options.items()},
            (*result.red_flags, *result.fired),
        )


def from_assessment(
    row_id: Any, performed: str | None, assessment: Assessment, fired: tuple[str, ...] | None
) -> PatientResult:
    """The record of one assessment (the cohort runner's; its missing information is not read)."""
    options = assessment.options
    return PatientResult(
        str(row_id),
        performed,
        {o: a.verdict for o, a in options.items()},
        {o: tuple((r.rule_id, r.effect) for r in a.reasons) for o, a in options.items()},
        tuple(fired or ()),
    )


def via_runner(
    rows: Iterable[Row],
    rules: Path,
    jurisdiction: str,
    workers: int | None,
    dask: str | None,
    progress: Callable[..., Any] | None = None,
) -> Iterator[PatientResult]:
    """Every row through the cohort runner (its pool or Dask cluster), reduced to PatientResults."""
    from decision_aid.cohorts.runner import run_cohort

    outcomes = run_cohort(
        rows,
        rules_dir=rules,
        jurisdiction=jurisdiction,
        workers=workers,
        dask=dask,
        explain=True,
        progress=progress,
        missing=False,
    )
    for outcome in outcomes:
        if outcome.assessment is None:
            yield PatientResult(str(outcome.id), outcome.performed, problems=tuple(outcome.problems) or ("invalid",))
        else:
            yield from_assessment(outcome.id, outcome.performed, outcome.assessment, outcome.fired)
