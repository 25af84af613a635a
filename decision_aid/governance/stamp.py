"""`rules stamp`: record a raised knowledge version (its content hash) and generate its diff summary
against the previous version, once the clinical lead has raised `version` and written the change-log
entry.

Invariants: nothing is written unless the change log's newest entry is the current version and the
previous rules (a folder or git ref; by default found in the git history) are the version the
change log names before it; a content change under an already stamped version (the version recorded
beside the hash) is refused (raise the version). The summary (rules/diff_from_previous.md, .json) is
written before the hash, each file whole or not at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from decision_aid.models import JURISDICTIONS

from . import changelog, diff, diff_report
from .cohort import DEFAULT_RANDOM, default_cohort, describe_default
from .folders import GovernanceInputError, load_rules, rules_folder
from .page import as_json, write
from .passes import evaluate


def stamp(folder: Path, previous: str | None = None, random: int | None = None) -> Iterator[str]:
    """Stamp the rules in `folder`; yields what it does, line by line (GovernanceInputError if refused)."""
    from decision_aid.views.teaching import load_cases

    new = load_rules(folder, folder)
    version, logged = new.version, changelog.entries(folder)
    if not logged or logged[0] != version:
        raise GovernanceInputError(
            f"{folder / changelog.CHANGELOG}: add the entry for version {version} at the top first "
            "(what changed, why, sources, who reviewed it)"
        )
    digest, (owner, recorded) = changelog.content_hash(folder), changelog.recorded(folder)
    stamped = (changelog.summary(folder) or {}).get("new", {}).get("version")
    if recorded and recorded != digest and changelog.hash_owner(folder, version) == version:
        raise GovernanceInputError(
            f"the rules changed since version {version} was stamped: raise the version and add its change-log entry"
        )
    current = recorded == digest and (stamped == version or len(logged) < 2)
    if current and owner == version:
        yield f"knowledge {version} is stamped and current; nothing to do"
        return
    if len(logged) > 1 and not current:
        previous = previous or changelog.previous_ref(folder, version)
        if previous is None:
            raise GovernanceInputError("no git history to find the previous version in: give --previous DIR_OR_REF")
        count = DEFAULT_RANDOM if random is None else random
        with rules_folder(previous, "the previous rules", repo=folder) as old_dir:
            old = load_rules(old_dir, previous)
            if old.version != logged[1]:
                raise GovernanceInputError(
                    f"the previous rules ({previous}) are version {old.version}, but the change log's previous "
                    f"entry is {logged[1]}"
                )
            cases = load_cases(folder / "teaching_cases", new) if (folder / "teaching_cases").is_dir() else []
            rows = default_cohort(cases, count)
            yield f"rules stamp: diff {old.version} -> {version} over {len(rows):,} patients"
            named = f"knowledge {old.version} (git {previous})" if old_dir != Path(previous) else str(previous)
            report = diff.compare(
                old,
                new,
                rows,
                list(JURISDICTIONS),
                lambda rows, knowledge, _, jurisdiction: evaluate(rows, knowledge, jurisdiction),
                cases,
                (named, "rules/"),
                describe_default(len(cases), count),
            )
        for part in report["jurisdictions"].values():  # the shipped summary keeps counts and examples only
            for data in part["options"].values():
                for transition in data["transitions"]:
                    del transition["ids"]
        report["new"][changelog.HASH_KEY] = digest
        write(diff_report.markdown(report), str(folder / changelog.SUMMARY_MD))
        write(as_json(report), str(folder / changelog.SUMMARY_JSON))
        yield f"wrote {changelog.SUMMARY_MD} and {changelog.SUMMARY_JSON}"
    changelog.write_hash(folder, version, digest)
    yield f"knowledge {version}: {changelog.HASH_KEY} {version}:{digest}"
