"""A cold start imports only what its command needs: `decision-aid assess FILE` loads no FHIR models,
web server, HTTP client, Dask or Arrow (each costs tens to hundreds of milliseconds to import)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("fhir.resources", "fastapi", "uvicorn", "dask", "distributed", "pyarrow", "httpx")

# Runs the command in a fresh interpreter, then prints which of HEAVY it imported.
PROGRAM = """
import json, sys
from decision_aid.cli import main
code = main(sys.argv[1:-1])
heavy = json.loads(sys.argv[-1])
print(json.dumps([code, sorted(m for m in sys.modules if any(m == h or m.startswith(h + ".") for h in heavy))]))
"""


def imported_by(*command: str) -> tuple[int, list[str]]:
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM, *command, json.dumps(HEAVY)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    code, modules = json.loads(done.stdout.strip().splitlines()[-1])
    return code, modules


@pytest.mark.slow  # a fresh interpreter
def test_assessing_a_patient_file_imports_none_of_the_heavy_packages():
    code, modules = imported_by("assess", "examples/elderly-osteoporosis-unknown-films.json")
    assert code == 0
    assert modules == []


@pytest.mark.slow  # a fresh interpreter
def test_the_check_sees_a_heavy_package_when_a_command_needs_one():
    # `assess --fhir` reads the bundle with the fhir.resources models: the same check must see them.
    bundle = ROOT / "examples" / "fhir" / "record.json"
    _, modules = imported_by("assess", "--fhir", str(bundle), "--as-of", "2026-12-01")
    assert "fhir.resources" in modules
