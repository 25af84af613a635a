"""Batch assessment: JSONL in, JSONL out, in order, on every core.

A bad line becomes `{"line": N, "error": "..."}` in its place and the rest go
on. The work is done by the cohort runner (decision_aid.cohorts.runner), each
line a row whose id is its line number: on the local process pool (each worker
compiles its own engine, as durable-rules must not be shared between threads or
processes) or, with `dask`, on Dask distributed; progress goes to standard error.

A run that stops early (Ctrl-C, SIGTERM, a write error) ends the pool's worker
processes before the exception goes on, and `counts` says how many lines were
written. A worker process that dies raises WorkerDied, naming the lines left
unassessed.
"""

from __future__ import annotations

import json
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, TextIO

from decision_aid.cohorts.progress import Progress
from decision_aid.cohorts.rows import CohortRow, Outcome
from decision_aid.cohorts.runner import WorkerDied, run_cohort

__all__ = ["Counts", "WorkerDied", "outcome_line", "run_batch", "split_lines"]


@dataclass
class Counts:
    assessed: int = 0
    invalid: int = 0
    failed: int = 0

    @property
    def done(self) -> int:
        """Lines whose result has been written, in order from the first."""
        return self.assessed + self.invalid + self.failed

    def add(self, outcome: Outcome) -> None:
        if outcome.failed:
            self.failed += 1
        elif outcome.problems:
            self.invalid += 1
        else:
            self.assessed += 1


def split_lines(data: bytes) -> list[bytes]:
    """JSONL lines: split on newline only (JSON text may hold U+2028 and the like);
    trailing blank lines at the end of the file are not patients."""
    lines = data.split(b"\n")
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def outcome_line(outcome: Outcome, number: int) -> str:
    """A batch output line: the assessment's JSON, or {"line": N, "error": "..."}."""
    if outcome.problems:
        return json.dumps({"line": number, "error": "; ".join(outcome.problems)})
    return outcome.json or ""


def run_batch(
    lines: list[bytes],
    out: BinaryIO,
    progress: TextIO,
    workers: int | None = None,
    counts: Counts | None = None,
    jurisdiction: str | None = None,
    dask: str | None = None,
    spill_to: Path | None = None,
) -> Counts:
    """Assess every line under `jurisdiction` ('uk', the default, or 'us'), writing one result line
    to `out` per input line, in order.

    Pass `counts` to know how far a run got when it raises (Ctrl-C, a dead worker, a write error).
    `dask` ("local" or a scheduler's address) runs it on Dask; `spill_to` lets a local Dask
    cluster spill to that folder (see decision_aid.cohorts.on_dask).
    """
    from decision_aid.models import parse_jurisdiction

    jurisdiction = parse_jurisdiction(jurisdiction)  # a bad one fails here, not once per line
    rows = [CohortRow(str(number), None, raw) for number, raw in enumerate(lines, start=1)]
    counts = counts if counts is not None else Counts()
    bar = Progress(len(rows), progress)
    try:
        outcomes = run_cohort(rows, jurisdiction=jurisdiction, workers=workers, dask=dask, spill_to=spill_to)
        with closing(outcomes):  # stopping early ends the pool's workers before the exception goes on
            for number, outcome in enumerate(outcomes, start=1):
                data = outcome_line(outcome, number).encode("utf-8") + b"\n"
                # Counted just before the write: Python handles a signal (Ctrl-C) only after a call
                # returns, so the count and the lines written agree wherever the run stops.
                counts.add(outcome)
                out.write(data)
                bar.step()
    except WorkerDied as error:
        raise WorkerDied(error.first, error.last, error.signal_number, noun="line", why=error.why) from None
    finally:
        bar.close()
    return counts
