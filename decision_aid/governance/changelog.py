"""The knowledge change log and content hash: a change to rules/ needs a new version and an entry.

`rules/knowledge.yaml` carries `content_sha256: "<version>:<hash>"` beside `version:`: the version
that was stamped and the SHA-256 of every file under rules/ (paths and bytes, in sorted path order)
except the hash line itself, the change log `CHANGELOG.md` and the generated diff summary
`diff_from_previous.md` / `.json`. `problems` (run by `rules check`) reports a content change
without a new version and change-log entry (the recorded version says which version the hash
belongs to, so deleting the summary cannot turn a change into "not stamped yet"), and a diff
summary that is not of the current version against the previous one. `stamp` (`rules stamp`),
run by the clinical lead after raising the version and writing the entry, regenerates the summary
against the previous version's rules (a folder, or by default the git history) and records the hash.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from pathlib import Path
from typing import Any

from decision_aid.errors import KnowledgeProblem
from decision_aid.knowledge.files import read_yaml

HASH_KEY = "content_sha256"
CHANGELOG = "CHANGELOG.md"
SUMMARY_MD, SUMMARY_JSON = "diff_from_previous.md", "diff_from_previous.json"
NOT_HASHED = {CHANGELOG, SUMMARY_MD, SUMMARY_JSON}
_HASH_LINE = re.compile(rf"^{HASH_KEY}:.*(?:\n|$)", re.M)
_ENTRY = re.compile(r"^## +(\S+)", re.M)
RAISE = (
    "raise `version` in knowledge.yaml, add an entry for it at the top of CHANGELOG.md (what changed, why, "
    "sources, who reviewed it), then run `decision-aid rules stamp`"
)


def content_hash(folder: Path) -> str:
    """SHA-256 over every file under `folder` (sorted by path) but the change log, the diff summary and
    the hash line of knowledge.yaml."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        relative = path.relative_to(folder).as_posix()
        if relative in NOT_HASHED or "__pycache__" in path.parts:
            continue
        data = path.read_bytes()
        if relative == "knowledge.yaml":
            data = _HASH_LINE.sub("", data.decode("utf-8")).encode("utf-8")
        digest.update(f"{relative}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()


def meta(folder: Path) -> dict[str, Any]:
    data = read_yaml((folder / "knowledge.yaml").read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else {}


def entries(folder: Path) -> list[str]:
    """The versions the change log has entries for, newest (first in the file) first."""
    path = folder / CHANGELOG
    return _ENTRY.findall(path.read_text(encoding="utf-8")) if path.is_file() else []


def summary(folder: Path) -> dict[str, Any] | None:
    path = folder / SUMMARY_JSON
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def recorded(folder: Path) -> tuple[str | None, str | None]:
    """The (version, hash) that `content_sha256` records; the version is None in the older form (the
    hash alone), both are None when no hash is recorded."""
    value = meta(folder).get(HASH_KEY)
    if not value:
        return None, None
    version, _, digest = str(value).rpartition(":")
    return version or None, digest


def hash_owner(folder: Path, version: str) -> str | None:
    """The version the recorded hash belongs to: the one recorded beside it; for a hash in the older
    form, the diff summary's version, or the current version when there is no summary."""
    owner, digest = recorded(folder)
    if digest is None:
        return None
    return owner or ((summary(folder) or {}).get("new") or {}).get("version") or version


def problems(folder: Path) -> list[KnowledgeProblem]:
    """What keeps the rules in `folder` from being a properly versioned release (empty when nothing)."""
    found: list[KnowledgeProblem] = []
    version = str(meta(folder).get("version", ""))
    owner, recorded_hash = recorded(folder)
    stamped = summary(folder)
    stamped_version = ((stamped or {}).get("new") or {}).get("version")
    logged = entries(folder)
    current = content_hash(folder)
    if not recorded_hash:
        found.append(KnowledgeProblem("knowledge.yaml", HASH_KEY, f"no content hash recorded: {RAISE}"))
    elif recorded_hash != current:
        if version == hash_owner(folder, version):
            message = f"the rules changed since version {version} was stamped, but the version did not: {RAISE}"
        elif version not in logged:
            message = f"version {version} has no change-log entry: add one at the top of CHANGELOG.md"
        else:
            message = f"version {version} is not stamped yet: run `decision-aid rules stamp`"
        found.append(KnowledgeProblem("knowledge.yaml", HASH_KEY, message))
    if not logged or logged[0] != version:
        found.append(KnowledgeProblem(CHANGELOG, version, "the newest entry must be for the current version"))
    if recorded_hash != current:  # the summary is checked once the content is stamped
        return found
    if owner is None:
        message = f"record the stamped version with the hash ({version}:<hash>): run `decision-aid rules stamp`"
        found.append(KnowledgeProblem("knowledge.yaml", HASH_KEY, message))
    if stamped is not None:
        expected = (version, recorded_hash, logged[1] if len(logged) > 1 else None)
        got = (stamped_version, stamped["new"].get(HASH_KEY), stamped["old"].get("version"))
        if got != expected:
            message = (
                f"is of {got[2]} -> {got[0]} (content {str(got[1])[:12]}), not of {expected[2]} -> {version} "
                f"(content {recorded_hash[:12]}): run `decision-aid rules stamp`"
            )
            found.append(KnowledgeProblem(SUMMARY_JSON, "", message))
    elif len(logged) > 1:
        found.append(KnowledgeProblem(SUMMARY_JSON, "", "missing: run `decision-aid rules stamp`"))
    return found


def write_hash(folder: Path, version: str, digest: str) -> None:
    """Record `version:digest` as content_sha256 in knowledge.yaml (after `version:`), keeping the rest
    as written."""
    path = folder / "knowledge.yaml"
    text = _HASH_LINE.sub("", path.read_text(encoding="utf-8"))
    line = f'{HASH_KEY}: "{version}:{digest}"\n'
    match = re.search(r"^version:.*\n", text, re.M)
    text = text[: match.end()] + line + text[match.end() :] if match else text + line
    path.write_text(text, encoding="utf-8")


def previous_ref(folder: Path, version: str) -> str | None:
    """The git commit holding the last state of the version before `version`: the parent of the first
    commit with `version`, or HEAD when no commit has it yet (the version was raised in the working
    tree). None without git history."""
    try:
        top = Path(_git(folder, "rev-parse", "--show-toplevel").strip())
        relative = folder.resolve().relative_to(top.resolve()).as_posix()
        commits = _git(top, "log", "--format=%H", "--", f"{relative}/knowledge.yaml").split()
    except (OSError, ValueError, subprocess.CalledProcessError):
        return None
    first_with = None
    for commit in commits:  # newest first
        try:
            text = _git(top, "show", f"{commit}:{relative}/knowledge.yaml")
        except subprocess.CalledProcessError:
            break
        data = read_yaml(text) or {}
        if str(data.get("version", "")) != version:
            break
        first_with = commit
    if first_with is None:
        return _git(top, "rev-parse", "HEAD").strip() if commits else None
    try:
        return _git(top, "rev-parse", f"{first_with}^").strip()
    except subprocess.CalledProcessError:  # the version's first commit has no parent
        return None


def _git(folder: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(folder), *args], capture_output=True, text=True, check=True)
    return done.stdout
