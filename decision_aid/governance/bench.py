"""The `rules diff` figure of `python -m decision_aid.bench`: the whole command, as a new process,
over the default cohort (the examples, the teaching cases and 10,000 seeded random patients) under
both jurisdictions, the installed rules against a copy of themselves (the work is that of any
two knowledge bases: every patient through each, twice). Budget: under 60 s."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from decision_aid.knowledge.files import rules_dir

BUDGET_SECONDS = 60.0


def rules_diff_seconds(random: int = 10_000) -> float:
    """Wall-clock seconds of `decision-aid rules diff COPY --random N --format json -o FILE`."""
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / "rules"
        shutil.copytree(rules_dir(), copy)
        command = [sys.executable, "-m", "decision_aid", "rules", "diff", str(copy), "--random", str(random)]
        command += ["--format", "json", "-o", str(Path(folder) / "diff.json")]
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True)
        seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"rules diff failed ({done.returncode}): {done.stderr[-500:]}")
    return seconds
