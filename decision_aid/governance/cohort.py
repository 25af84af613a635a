"""The cohorts governance runs over: the default cohort of `rules diff` (the shipped example
patients, the teaching cases and seeded random patients) and a cohort file (JSONL, CSV or Parquet,
read by the cohort runner's reader).

Row ids: `example/<file name>`, `case/<case id>`, `random/<n>` (n from 1); a file's rows keep the
ids the file gives them, and a file that repeats an id is refused (the reports name patients by id).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from decision_aid.cohorts.rows import CohortRow
from decision_aid.errors import DecisionAidError, InputError
from decision_aid.samples import random_patients
from decision_aid.views.teaching import Case

from .folders import GovernanceInputError, example_patients
from .passes import Row

DEFAULT_RANDOM = 10_000
SEED = 20261122  # the benchmark's seed: the same random patients everywhere


def default_cohort(cases: Sequence[Case], random: int = DEFAULT_RANDOM, seed: int = SEED) -> list[CohortRow]:
    """The examples, the teaching cases (their factors; each run under every jurisdiction asked for)
    and `random` seeded random valid patients."""
    rows = [CohortRow(f"example/{name}", None, patient) for name, patient in example_patients()]
    rows += [CohortRow(f"case/{case.id}", None, dict(case.spec.factors)) for case in cases]
    rows += [CohortRow(f"random/{i}", None, p) for i, p in enumerate(random_patients(random, seed=seed), start=1)]
    return rows


def describe_default(cases: int, random: int) -> str:
    examples = len(example_patients())
    return f"default cohort: {examples} example patients, {cases} teaching cases, {random:,} seeded random patients"


def read_file(path: str | Path, performed: str | None = None) -> list[Row]:
    """Every row of a cohort file, by the cohort runner's reader; a file that cannot be read, or is
        not a cohort (an unknown column, a bad line) or repeats an id, is GovernanceInputError naming it
    (and the id and both rows)."""
    from decision_aid.cohorts.sources import read_cohort

    if not Path(path).is_file():
        raise GovernanceInputError(f"cannot read cohort {path}: no such file")
    try:
        rows = list(read_cohort(Path(path), performed=performed))
    except InputError as error:
        raise GovernanceInputError(f"cohort {path}: " + "; ".join(str(p) for p in error.problems)) from None
    except (DecisionAidError, OSError, ValueError) as error:
        raise GovernanceInputError(f"cohort {path}: {error}") from None
    first: dict[str, int] = {}
    for number, row in enumerate(rows, start=1):
        if first.setdefault(row.id, number) != number:
            raise GovernanceInputError(
                f"cohort {path}: id {row.id!r} is on rows {first[row.id]} and {number}: the reports name patients "
                "by id, so each row needs its own"
            )
    return rows
