"""The cohort runner's figures for `python -m decision_aid.bench --cohort N`.

Over N seeded random patients written as a JSONL cohort, `decision-aid cohort run` as a new
process, as a user runs it, writing JSONL: on the local process pool on every core, and on a
2-worker Dask LocalCluster (`--dask local`, its start-up included). Budgets: the local runner at
least 80 % of the batch figure the same benchmark printed; Dask within 30 % of local.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from decision_aid.samples import random_patients

Report = Callable[[str, str, "bool | None"], int]


def cohort_figures(count: int, seed: int, batch_rate: float, report: Report) -> int:
    """Print the two figures with `report`; return how many are over budget."""
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "cohort.jsonl"
        with open(source, "w", encoding="utf-8") as out:
            for n, patient in enumerate(random_patients(count, seed=seed + 3), start=1):
                out.write(json.dumps({"id": f"bench-{n}", "patient": patient}) + "\n")
        local = count / _run_seconds(source, Path(folder) / "local.jsonl")
        dask = count / _run_seconds(source, Path(folder) / "dask.jsonl", "--dask", "local")
    failures = report(
        f"cohort runner, {count:,} patients, all cores",
        f"{count / local:.1f} s ({local:,.0f}/s = {local / batch_rate:.0%} of batch)",
        local >= 0.8 * batch_rate,
    )
    failures += report(
        "cohort runner, Dask LocalCluster (2 workers)",
        f"{count / dask:.1f} s ({dask:,.0f}/s = {dask / local:.0%} of local)",
        dask >= 0.7 * local,
    )
    return failures


def _run_seconds(source: Path, output: Path, *options: str) -> float:
    command = [sys.executable, "-m", "decision_aid", "cohort", "run", str(source), "-o", str(output), *options]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"cohort run failed ({done.returncode}): {done.stderr[-500:]}")
    return seconds
