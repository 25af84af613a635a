"""The governance commands behind decision_aid.cli: `rules diff`, `rules stamp` and `audit`.

Each `add_*` adds a command's options to its argparse parser and sets `run`; each run returns the
exit code: 0 report written; 2 an invalid cohort row, rules folder, mapping file or change log
(named on standard error; a report is still written when only some rows are invalid, with those
rows listed in it); 1 anything else (an output path problem). Progress goes to standard error.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from decision_aid.models import JURISDICTIONS

if TYPE_CHECKING:  # the command line imports this module to build its parser: keep that cheap
    from decision_aid.knowledge.loader import Knowledge

    from .passes import PatientResult, Row

EXIT_OK, EXIT_ERROR, EXIT_INVALID = 0, 1, 2
FORMATS = ("markdown", "json", "html")


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--jurisdiction",
        choices=JURISDICTIONS,
        default=None,
        help=f"only this jurisdiction ({' or '.join(JURISDICTIONS)}; default: each in turn)",
    )
    parser.add_argument("--format", choices=FORMATS, default="markdown", help="report format (default: markdown)")
    parser.add_argument("-o", "--output", default=None, help="write the report here (default: standard output)")
    parser.add_argument(
        "--workers", type=int, default=None, help="hand the cohort to the cohort runner's process pool of N workers"
    )
    parser.add_argument(
        "--dask", default=None, metavar="ADDRESS", help="hand the cohort to a Dask cluster (or 'local')"
    )


def add_diff(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("old", metavar="OLD_RULES_DIR", help="the rules folder before the change, or a git ref")
    parser.add_argument(
        "new", metavar="NEW_RULES_DIR", nargs="?", default=None, help="the rules after it (default: the installed)"
    )
    parser.add_argument("--cohort", default=None, metavar="FILE", help="a cohort file: JSONL, CSV or Parquet")
    parser.add_argument(
        "--random", type=_count, default=None, metavar="N", help="seeded random patients in the default cohort (10000)"
    )
    _common(parser)
    parser.set_defaults(run=run, governance=run_diff)


def _runner(args: argparse.Namespace) -> Any:
    """How each knowledge base runs over the rows: in this process, or by the cohort runner (with
    --workers or --dask); progress on standard error either way."""
    from decision_aid.cohorts.progress import Progress

    from .passes import evaluate, via_runner

    def run(rows: Sequence[Row], knowledge: Knowledge, folder: Path, jurisdiction: str) -> Iterable[PatientResult]:
        _say(f"knowledge {knowledge.version} under {jurisdiction}:")
        progress = Progress(len(rows), sys.stderr)
        try:
            if args.workers is None and args.dask is None:
                for result in evaluate(rows, knowledge, jurisdiction):
                    progress.step()
                    yield result
            else:
                yield from via_runner(rows, folder, jurisdiction, args.workers, args.dask, progress.update)
        finally:
            progress.close()

    return run


def _count(text: str) -> int:
    """A number of patients: 0 or more (anything else is a usage error, exit 1)."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"a number of patients, 0 or more (got {text!r})")
    return value


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _warn_absent_red_flags(cohort: str, knowledge: list[Knowledge]) -> None:
    from decision_aid.cohorts.absent_columns import absent_red_flags_warning

    warning = absent_red_flags_warning(cohort, knowledge)
    if warning:
        _say(warning)


def run_diff(args: argparse.Namespace) -> int:
    from decision_aid.atomic_file import output_target

    from . import diff, diff_report
    from .cohort import DEFAULT_RANDOM, default_cohort, describe_default, read_file
    from .folders import load_rules, rules_folder
    from .page import as_json, write

    if args.output:
        output_target(args.output)  # a missing folder: exit 1 before any work
    jurisdictions = [args.jurisdiction] if args.jurisdiction else list(JURISDICTIONS)
    with rules_folder(args.old, "OLD_RULES_DIR") as old_dir, rules_folder(args.new, "NEW_RULES_DIR") as new_dir:
        old = load_rules(old_dir, args.old)
        new = load_rules(new_dir, args.new or new_dir)
        cases = _cases(new, new_dir, args.new or new_dir)
        if args.cohort:
            rows = read_file(args.cohort)
            description = f"cohort file {args.cohort}"
            _warn_absent_red_flags(args.cohort, [old, new])
        else:
            count = DEFAULT_RANDOM if args.random is None else args.random
            rows = default_cohort(cases, count)
            description = describe_default(len(cases), count)
        _say(f"rules diff: {old.version} -> {new.version} over {len(rows):,} patients, {', '.join(jurisdictions)}")
        report = diff.compare(
            old, new, rows, jurisdictions, _runner(args), cases, (str(args.old), str(args.new or new_dir)), description
        )
    text = {"markdown": diff_report.markdown, "json": as_json, "html": diff_report.html}[args.format](report)
    write(text, args.output)
    if args.output:
        _say(f"wrote {args.output}")
    return _invalid_rows(report["cohort"]["invalid"])


def _cases(knowledge: Knowledge, folder: Path, given: object) -> list:
    """The teaching cases of the new rules folder (none if it has none)."""
    from decision_aid.errors import KnowledgeError
    from decision_aid.views.teaching import load_cases

    from .folders import GovernanceInputError

    if not (folder / "teaching_cases").is_dir():
        return []
    try:
        return load_cases(folder / "teaching_cases", knowledge)
    except KnowledgeError as error:
        raise GovernanceInputError(f"rules folder {given}: teaching cases: {error.problems[0]}") from None


def _invalid_rows(invalid: list[dict]) -> int:
    for row in invalid[:20]:
        _say(f"invalid row {row['id']}: {'; '.join(row['problems'])}")
    if len(invalid) > 20:
        _say(f"... and {len(invalid) - 20} more invalid rows (all listed in the report)")
    return EXIT_INVALID if invalid else EXIT_OK


def run(args: argparse.Namespace) -> int:
    """Run a governance command; its input errors exit 2 with one line naming what is wrong."""
    from .folders import GovernanceInputError

    try:
        return args.governance(args)
    except GovernanceInputError as error:
        _say(f"error: {error}")
        return EXIT_INVALID


def add_stamp(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dir", type=Path, default=None, help="knowledge base directory (default: the bundled rules/)")
    parser.add_argument(
        "--previous",
        default=None,
        metavar="DIR_OR_REF",
        help="the previous version's rules (default: found in the git history of knowledge.yaml)",
    )
    parser.add_argument("--random", type=_count, default=None, metavar="N", help="seeded random patients (10000)")
    parser.set_defaults(run=run, governance=run_stamp)


def run_stamp(args: argparse.Namespace) -> int:
    from decision_aid.knowledge.files import rules_dir

    from .stamp import stamp

    for line in stamp(args.dir or rules_dir(), args.previous, args.random):
        _say(line)
    return EXIT_OK


def add_audit(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("cohort", metavar="COHORT", help="the cohort: JSONL, CSV or Parquet")
    parser.add_argument(
        "--performed", required=True, metavar="COLUMN", help="the column (JSONL: key) holding the procedure performed"
    )
    parser.add_argument(
        "--mapping", default=None, metavar="FILE", help="local procedure code -> option (YAML, or CSV code,option)"
    )
    _common(parser)
    parser.set_defaults(run=run, governance=run_audit)


def run_audit(args: argparse.Namespace) -> int:
    """How often each procedure performed was worth discussing, ... not applicable, by the rules."""
    from decision_aid.atomic_file import output_target
    from decision_aid.knowledge.files import rules_dir
    from decision_aid.knowledge.loader import load
    from decision_aid.models import DEFAULT_JURISDICTION

    from . import audit, audit_report
    from .cohort import read_file
    from .page import as_json, write

    if args.output:
        output_target(args.output)  # a missing folder: exit 1 before any work
    mapping = audit.read_mapping(args.mapping) if args.mapping else None
    rows = read_file(args.cohort, performed=args.performed)
    knowledge = load()
    _warn_absent_red_flags(args.cohort, [knowledge])
    jurisdictions = [args.jurisdiction or DEFAULT_JURISDICTION]
    _say(f"audit: {len(rows):,} rows under {', '.join(jurisdictions)}, knowledge {knowledge.version}")
    run_rows = _runner(args)
    report = {
        "kind": "audit",
        "cohort": Path(args.cohort).name,
        "performed": args.performed,
        "mapping": args.mapping,
        "knowledge_version": knowledge.version,
        "statement": audit.statement(knowledge),
        "jurisdictions": {
            j: audit.tally(run_rows(rows, knowledge, rules_dir(), j), knowledge, mapping, j) for j in jurisdictions
        },
    }
    text = {"markdown": audit_report.markdown, "json": as_json, "html": audit_report.html}[args.format](report)
    write(text, args.output)
    if args.output:
        _say(f"wrote {args.output}")
    for part in report["jurisdictions"].values():
        if part["not_recorded"]["count"] or part["unknown"]["count"]:
            _say(
                f"not audited: {part['not_recorded']['count']:,} rows without a performed procedure, "
                f"{part['unknown']['count']:,} with an unknown one (listed in the report)"
            )
    return _invalid_rows(next(iter(report["jurisdictions"].values()))["invalid"])


def rules_check_problems(folder: Path | None, knowledge: Knowledge) -> list:
    """What `rules check` adds: the change log and content hash, and the audit statement."""
    from decision_aid.errors import KnowledgeError
    from decision_aid.knowledge.files import rules_dir

    from . import audit, changelog

    found = changelog.problems(folder or rules_dir())
    try:
        audit.statement(knowledge)
    except KnowledgeError as error:
        found += error.problems
    return found
