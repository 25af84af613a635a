"""run_cohort: one knowledge base over a cohort, each row's outcome yielded in the cohort's order.

Three ways to run, one result: serially in this process (workers=1, the reference), on the
local process pool (`decision_aid.cohorts.pool`, what `decision-aid batch` uses), or on Dask
distributed (`dask="local"` for a LocalCluster on 127.0.0.1, or a scheduler's address). Each
worker builds its engine once per knowledge base (`decision_aid.cohorts.work`). Rows stream
through: a cohort of any size is read, assessed and yielded a chunk at a time.

Invalid rows come out as outcomes with problems, in their place, and the run goes on. A worker
that dies raises WorkerDied naming the rows left without a result (on Dask, a partition whose
worker died is first retried elsewhere, as Dask does). Stopping early: close the iterator
(`contextlib.closing`); the pool's workers end before the exception goes on.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from decision_aid.cohorts import work
from decision_aid.cohorts.rows import CohortRow, Outcome
from decision_aid.errors import DecisionAidError, KnowledgeError, KnowledgeProblem
from decision_aid.models import parse_jurisdiction

__all__ = ["CohortRow", "Outcome", "WorkerDied", "run_cohort"]

Progress = Callable[[int, "int | None"], None]

# Below this many rows a process pool costs more than it saves.
POOL_THRESHOLD = 200
POOL_CHUNK = 50  # rows per task on the local pool
DASK_PARTITION = 500  # rows per task on Dask (a task costs the scheduler about a millisecond)


class WorkerDied(DecisionAidError):
    """A worker died (killed, out of memory, crashed): rows `first`..`last` (None: to the end) have no result."""

    def __init__(
        self, first: int, last: int | None, signal_number: int | None = None, noun: str = "row", why: str = ""
    ):
        self.first, self.last, self.signal_number, self.why = first, last, signal_number, why
        how = f" (killed by signal {signal_number})" if signal_number else ""
        if last is None:
            rows = f"{noun}s from {first:,} on were"
        elif first == last:
            rows = f"{noun} {first:,} was"
        else:
            rows = f"{noun}s {first:,}-{last:,} were"
        super().__init__(f"a worker process died{how}{why}; {rows} not assessed")


def run_cohort(
    rows: Iterable[CohortRow],
    *,
    rules_dir: Path | None = None,
    jurisdiction: str = "uk",
    workers: int | None = None,
    dask: str | None = None,
    explain: bool = False,
    progress: Progress | None = None,
    chunk_rows: int | None = None,
    spill_to: Path | None = None,
    missing: bool = True,
) -> Iterator[Outcome]:
    """Each row's Outcome, in the rows' order.

    rules_dir: the knowledge base (None: the installed rules/); loaded here first, so a broken
      one raises KnowledgeError before any work.
    jurisdiction: 'uk' or 'us' (anything else raises InputError naming `jurisdiction`).
    workers: processes on this machine (None: every core; 1: serially, in this process).
    dask: "local" for a 2-worker LocalCluster on 127.0.0.1, or a scheduler address
      ("tcp://host:8786") to run on that cluster; `workers` is then ignored.
    explain: fill each Outcome's `fired` (the red flags and rules that fired).
    progress: called as progress(done, total) as results come in (total None when unknown).
    chunk_rows: rows per task (default: 50 on the pool, 500 on Dask).
    spill_to: with dask="local", a folder where workers may spill data to disk (default: never).
    missing: run the missing-information search (the default: full assessments). With False each
      assessment is verdicts, reasons and fired rules only (its missing_information list is
      empty), about five times faster: what `rules diff` and `audit` need, on every route.
    """
    where = parse_jurisdiction(jurisdiction)
    key = _knowledge_key(rules_dir)
    if key is not None:
        work.aid_for(key)  # a broken knowledge base fails here, before any work is handed out
    total = len(rows) if hasattr(rows, "__len__") else None  # type: ignore[arg-type]
    numbered = enumerate(rows, start=1)
    if dask is not None:
        chunk = chunk_rows or DASK_PARTITION
        return _run_dask(numbered, dask, key, where, explain, progress, total, chunk, spill_to, missing)
    workers = workers or os.cpu_count() or 1
    return _run_local(numbered, workers, key, where, explain, progress, total, chunk_rows or POOL_CHUNK, missing)


def _knowledge_key(rules_dir: Path | None) -> str | None:
    if rules_dir is None:
        return None
    folder = Path(rules_dir)
    if not folder.is_dir():
        raise KnowledgeError([KnowledgeProblem(str(rules_dir), "", "knowledge base folder not found")])
    return str(folder.resolve())


def _run_local(
    numbered: Iterator[tuple[int, CohortRow]],
    workers: int,
    key: str | None,
    jurisdiction: str,
    explain: bool,
    progress: Progress | None,
    total: int | None,
    chunk: int,
    missing: bool,
) -> Iterator[Outcome]:
    first = list(itertools.islice(numbered, POOL_THRESHOLD))
    if workers <= 1 or len(first) < POOL_THRESHOLD:
        aid = work.aid_for(key)
        for position, row in itertools.chain(first, numbered):
            with work._lock:
                outcome = work.assess_row(row, position, aid, jurisdiction, explain, missing)
            if progress is not None:
                progress(position, total)
            yield outcome
        return
    from decision_aid.cohorts.pool import PoolBroken, map_ordered

    chunks = _chunks(itertools.chain(first, numbered), chunk)
    done = 0
    try:
        for outcomes in map_ordered(work.assess_rows, chunks, workers, key, jurisdiction, explain, missing):
            for outcome in outcomes:
                done += 1
                if progress is not None:
                    progress(done, total)
                yield outcome
    except PoolBroken as error:
        raise WorkerDied(done + 1, total, error.signal_number) from None


def _run_dask(
    numbered: Iterator[tuple[int, CohortRow]],
    address: str,
    key: str | None,
    jurisdiction: str,
    explain: bool,
    progress: Progress | None,
    total: int | None,
    chunk: int,
    spill_to: Path | None,
    missing: bool,
) -> Iterator[Outcome]:
    from decision_aid.cohorts.on_dask import DaskWorkersDied, map_on_dask

    done = 0
    try:
        for outcomes in map_on_dask(address, _chunks(numbered, chunk), key, jurisdiction, explain, spill_to, missing):
            for outcome in outcomes:
                done += 1
                if progress is not None:
                    progress(done, total)
                yield outcome
    except DaskWorkersDied as error:
        raise WorkerDied(done + 1, total, why=f" ({error})") from None


def _chunks(numbered: Iterable[tuple[int, CohortRow]], size: int) -> Iterator[list[tuple[int, CohortRow]]]:
    source = iter(numbered)
    while chunk := list(itertools.islice(source, size)):
        yield chunk
