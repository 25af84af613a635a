"""Where governance runs get their inputs: rules folders (a path, or a git ref's rules/ exported
with `git archive`), checked to be in the current format, and the shipped example patients.

Invariants: a folder that does not load with today's loader is a `GovernanceInputError` naming the
folder (the command line exits 2); a git ref is read from the repository holding the current
directory and exported into a temporary folder that is removed when the `with` block ends.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from decision_aid.errors import DecisionAidError, KnowledgeError
from decision_aid.knowledge.files import rules_dir
from decision_aid.knowledge.loader import Knowledge, load


class GovernanceInputError(DecisionAidError):
    """An input of a governance command is invalid (a rules folder, a cohort row, a mapping file):
    the message names it. The command line exits 2."""


@contextmanager
def rules_folder(given: str | Path | None, what: str = "rules folder", repo: Path | None = None) -> Iterator[Path]:
    """The rules folder `given` names: a folder, else a git ref whose rules/ is exported into a
    temporary folder for the block; None is the installed rules/. The ref is looked up in the git
    repository around `repo` (a rules folder: the ref's copy of that folder), else around the
    current directory (the ref's rules/ at the top)."""
    if given is None:
        yield rules_dir()
        return
    path = Path(given)
    if path.is_dir():
        yield path
        return
    if path.exists():
        raise GovernanceInputError(f"{what} {given}: not a folder")
    archive = _git_archive(str(given), repo) or (_git_archive(str(given), None) if repo else None)
    if archive is None:
        raise GovernanceInputError(f"{what} {given}: no such folder, nor a git ref here")
    with tempfile.TemporaryDirectory(prefix="decision_aid_rules_") as folder:
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(folder, filter="data")
        exported = Path(folder) / "rules"
        if not exported.is_dir():
            raise GovernanceInputError(f"{what} {given}: the git ref has no rules/ folder")
        yield exported


def _git_archive(ref: str, repo: Path | None) -> bytes | None:
    """The tar of `ref`'s rules folder (as `rules/`), or None."""
    if shutil.which("git") is None or ref.startswith("-"):
        return None
    try:
        where = ["-C", str(repo)] if repo else []
        top = subprocess.run(
            ["git", *where, "rev-parse", "--show-toplevel"], capture_output=True, text=True, check=True
        )
        root = top.stdout.strip()
        inside = repo.resolve().relative_to(Path(root).resolve()).as_posix() if repo else "rules"
        subprocess.run(
            ["git", "-C", root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"],
            capture_output=True,
            check=True,
        )
        prefix = ["--prefix=rules/", f"{ref}:{inside}"] if inside != "rules" else [ref, "rules"]
        done = subprocess.run(["git", "-C", root, "archive", "--format=tar", *prefix], capture_output=True)
    except (OSError, ValueError, subprocess.CalledProcessError):
        return None
    return done.stdout if done.returncode == 0 else None


def load_rules(folder: Path, given: str | Path | None = None) -> Knowledge:
    """The knowledge base in `folder`, which must be in today's format; else GovernanceInputError
    naming the folder (as given) and its first problems."""
    name = str(given if given is not None else folder)
    if not (folder / "knowledge.yaml").is_file():
        raise GovernanceInputError(f"rules folder {name}: no knowledge.yaml (not a knowledge base folder)")
    try:
        return load(folder)
    except KnowledgeError as error:
        shown = "; ".join(str(p) for p in error.problems[:5])
        more = f" (and {len(error.problems) - 5} more)" if len(error.problems) > 5 else ""
        raise GovernanceInputError(
            f"rules folder {name} does not load with this version of decision_aid (an older format, or broken): "
            f"{shown}{more}"
        ) from None


def examples_dir() -> Path:
    """The example patients: decision_aid/examples in an installed package, else examples/ at the top
    of a source checkout (the same search as `rules_dir`)."""
    here = Path(__file__).resolve().parent.parent
    for candidate in (here / "examples", here.parent / "examples"):
        if candidate.is_dir() and any(candidate.glob("*.json")):
            return candidate
    raise GovernanceInputError(f"the example patients are not found (looked in {here / 'examples'})")


def example_patients() -> list[tuple[str, dict[str, Any]]]:
    """(name, patient) for every shipped example patient, by file name."""
    return [(p.stem, json.loads(p.read_text(encoding="utf-8"))) for p in sorted(examples_dir().glob("*.json"))]
