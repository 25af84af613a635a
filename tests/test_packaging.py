"""The built package carries the knowledge base, so a non-editable install works."""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow  # builds a wheel with pip
def test_the_wheel_ships_rules_and_the_console_script(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("decision_aid-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {p.relative_to(ROOT).as_posix() for p in (ROOT / "rules").rglob("*.yaml")}
    assert {f"decision_aid/{name}" for name in shipped} <= names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "decision-aid = decision_aid.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_rules_are_found_inside_an_installed_package(tmp_path, monkeypatch):
    """rules_dir() prefers decision_aid/rules (the installed layout) over the checkout."""
    import shutil

    from decision_aid.knowledge import files as rules_files
    from decision_aid.knowledge import loader as knowledge

    package = tmp_path / "decision_aid"
    shutil.copytree(ROOT / "rules", package / "rules")
    monkeypatch.setattr(rules_files, "__file__", str(package / "knowledge" / "files.py"))
    assert rules_files.rules_dir() == package / "rules"
    assert knowledge.load(rules_files.rules_dir()).version
