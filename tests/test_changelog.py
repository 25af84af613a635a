"""The knowledge change log and content hash: `rules check` refuses a content change without a new
version and change-log entry; `rules stamp` records a raised version and its diff summary."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
import yaml

from decision_aid.cli import main
from decision_aid.governance import changelog
from decision_aid.governance.commands import rules_check_problems
from decision_aid.knowledge.files import rules_dir
from decision_aid.knowledge.loader import load
from tests.conftest import edit_rule


def raise_version(kb, version: str, entry: str = "") -> None:
    meta = kb / "knowledge.yaml"
    meta.write_text(meta.read_text().replace('version: "2026.12.01"', f'version: "{version}"'))
    if entry:
        log = kb / changelog.CHANGELOG
        head, rest = log.read_text().split("\n## ", 1)
        log.write_text(f"{head}\n## {version}\n\n{entry}\n\n## {rest}")


def test_the_shipped_rules_are_stamped_and_current():
    """Fails when a file under rules/ changed without a new version: see README, "Changing the knowledge"."""
    folder = rules_dir()
    assert changelog.problems(folder) == []
    assert rules_check_problems(None, load()) == []
    summary = changelog.summary(folder)
    assert summary["new"]["version"] == load().version
    assert summary["old"]["version"] == changelog.entries(folder)[1]
    assert (
        (folder / changelog.SUMMARY_MD).read_text().startswith(f"# Rules diff: knowledge {summary['old']['version']}")
    )


def test_the_hash_covers_every_file_but_the_change_log_the_summary_and_itself(kb):
    before = changelog.content_hash(kb)
    (kb / changelog.CHANGELOG).write_text("anything")
    (kb / changelog.SUMMARY_MD).write_text("anything")
    changelog.write_hash(kb, "2026.12.01", "0" * 64)
    assert changelog.content_hash(kb) == before
    readme = kb / "README.md"
    readme.write_text(readme.read_text() + "\n")
    assert changelog.content_hash(kb) != before
    assert changelog.content_hash(kb) == changelog.content_hash(kb)


def test_a_rule_change_without_a_new_version_fails_rules_check(kb, capsys):
    edit_rule(kb, "options/disc_replacement.yaml", "disc-replacement.age-over-60", when="age > 50")
    found = [str(p) for p in changelog.problems(kb)]
    assert len(found) == 1 and "the rules changed since version 2026.12.01 was stamped" in found[0]
    assert "raise `version` in knowledge.yaml" in found[0] and "CHANGELOG.md" in found[0]
    assert main(["rules", "check", "--dir", str(kb)]) == 2
    assert "raise `version` in knowledge.yaml" in capsys.readouterr().err
    # stamping is refused too: the version must be raised first
    assert main(["rules", "stamp", "--dir", str(kb), "--random", "0"]) == 2
    assert "raise the version" in capsys.readouterr().err


def test_a_raised_version_needs_its_entry_then_a_stamp(kb, capsys):
    edit_rule(kb, "options/disc_replacement.yaml", "disc-replacement.age-over-60", when="age > 50")
    raise_version(kb, "2026.12.02")
    assert any("no change-log entry" in str(p) for p in changelog.problems(kb))
    assert main(["rules", "stamp", "--dir", str(kb), "--previous", str(rules_dir()), "--random", "0"]) == 2
    assert "add the entry for version 2026.12.02" in capsys.readouterr().err

    raise_version(kb, "2026.12.02", "- **What changed:** disc replacement is opposed over 50 (test).")
    assert [str(p) for p in changelog.problems(kb)] == [
        "knowledge.yaml: content_sha256: version 2026.12.02 is not stamped yet: run `decision-aid rules stamp`"
    ]
    assert main(["rules", "stamp", "--dir", str(kb), "--previous", str(rules_dir()), "--random", "30"]) == 0
    assert changelog.problems(kb) == []
    assert rules_check_problems(kb, load(kb)) == []
    summary = json.loads((kb / changelog.SUMMARY_JSON).read_text())
    assert (summary["old"]["version"], summary["new"]["version"]) == ("2026.12.01", "2026.12.02")
    assert changelog.recorded(kb) == ("2026.12.02", summary["new"][changelog.HASH_KEY])
    assert [r["id"] for r in summary["jurisdictions"]["us"]["rules"]] == ["disc-replacement.age-over-60"]
    assert "disc-replacement.age-over-60" in (kb / changelog.SUMMARY_MD).read_text()

    # a summary edited by hand (or left from another version) is refused
    summary["old"]["version"] = "2026.11.22"
    (kb / changelog.SUMMARY_JSON).write_text(json.dumps(summary))
    assert [p.file for p in changelog.problems(kb)] == [changelog.SUMMARY_JSON]


def test_the_previous_version_must_match_the_change_log(kb, capsys):
    raise_version(kb, "2026.12.02", "- **What changed:** nothing but the version (test).")
    older = kb.parent / "older"
    shutil.copytree(kb, older)
    raise_version(older, "2026.12.03")  # not the change log's previous entry
    assert main(["rules", "stamp", "--dir", str(kb), "--previous", str(older), "--random", "0"]) == 2
    assert "the change log's previous entry is 2026.12.01" in capsys.readouterr().err


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_the_previous_version_is_found_in_git_history(tmp_path, capsys):
    repo = tmp_path / "repo"
    shutil.copytree(rules_dir(), repo / "rules")
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run([*git, "add", "rules"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "2026.12.01"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    kb = repo / "rules"
    edit_rule(kb, "options/fusion.yaml", "fusion.smoking", label="smoking now (test)")
    raise_version(kb, "2026.12.02", "- **What changed:** a label (test).")
    assert changelog.previous_ref(kb, "2026.12.02") == head  # the version is raised in the working tree only
    assert main(["rules", "stamp", "--dir", str(kb), "--random", "0"]) == 0
    assert head in json.loads((kb / changelog.SUMMARY_JSON).read_text())["old"]["rules"]
    subprocess.run([*git, "commit", "-q", "-am", "2026.12.02"], check=True)
    assert changelog.previous_ref(kb, "2026.12.02") == head  # the parent of the version's first commit
    assert changelog.problems(kb) == []


def test_the_knowledge_base_page_shows_the_change_log_and_the_verdict_changes():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(rules_dir().parent / "app_pages" / "knowledge_base.py"), default_timeout=60).run()
    assert not at.exception
    assert "Change log" in [h.value for h in at.subheader]
    text = " ".join(m.value for m in at.markdown)
    assert "## 2026.12.01" in text and "**What changed:**" in text
    assert "What 2026.12.01 changes against 2026.11.22" in text
    assert "| before ↓ / after → |" not in text
    at.toggle(key="kb_changes_in_full").set_value(True).run()
    assert "| before ↓ / after → |" in " ".join(m.value for m in at.markdown)


@pytest.mark.slow  # builds a wheel with pip
def test_the_wheel_ships_the_change_log_the_diff_summary_and_the_examples(tmp_path):
    import sys
    import zipfile

    root = rules_dir().parent
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(tmp_path), str(root)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("decision_aid-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    wanted = {f"decision_aid/rules/{n}" for n in (changelog.CHANGELOG, changelog.SUMMARY_MD, changelog.SUMMARY_JSON)}
    wanted |= {f"decision_aid/examples/{p.name}" for p in (root / "examples").glob("*.json")}
    assert wanted <= names, wanted - names


def test_deleting_the_summary_does_not_let_a_changed_version_be_stamped_again(kb, capsys):
    """The bypass: change a rule, delete the diff summary, stamp under the same version."""
    edit_rule(kb, "options/disc_replacement.yaml", "disc-replacement.age-over-60", when="age > 50")
    (kb / changelog.SUMMARY_JSON).unlink()
    found = [str(p) for p in changelog.problems(kb)]
    assert len(found) == 1 and "the rules changed since version 2026.12.01 was stamped" in found[0], found
    assert not any("run `decision-aid rules stamp`" in p.split("then run")[0] for p in found)
    assert main(["rules", "stamp", "--dir", str(kb), "--previous", str(rules_dir()), "--random", "0"]) == 2
    assert "raise the version and add its change-log entry" in capsys.readouterr().err
    assert main(["rules", "check", "--dir", str(kb)]) == 2


def test_the_hash_is_recorded_with_its_version(kb):
    version, digest = changelog.recorded(kb)
    assert (version, digest) == ("2026.12.01", changelog.content_hash(kb))
    assert yaml.safe_load((kb / "knowledge.yaml").read_text())[changelog.HASH_KEY] == f"2026.12.01:{digest}"
