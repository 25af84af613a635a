"""`decision-aid cohort run COHORT [-o OUT.jsonl|OUT.parquet]`: the cohort runner on the command line.

Exit codes as `batch`: 0 every row assessed; 2 some rows invalid, or the cohort file unreadable
or not a cohort (a missing or unknown column: named); 1 anything else (an output problem, a
worker that died, Ctrl-C). Results go to standard output as JSONL unless `-o` names a file;
a file is written whole or not at all. Progress goes to standard error.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

EXIT_OK, EXIT_ERROR, EXIT_INVALID = 0, 1, 2


def add_cohort_parser(commands: argparse._SubParsersAction, jurisdiction: Callable[[argparse.ArgumentParser], None]):
    """Add `cohort run` to the command line (`jurisdiction` adds the --jurisdiction option)."""
    p = commands.add_parser("cohort", help="run the knowledge base over a cohort (JSONL, CSV or Parquet)")
    sub = p.add_subparsers(dest="cohort_command", required=True, metavar="ACTION")
    run = sub.add_parser("run", help="assess every row of a cohort file, in order")
    run.add_argument("cohort", type=Path, help="cohort file: .jsonl, .csv or .parquet")
    run.add_argument(
        "-o", "--output", type=Path, help="results: .jsonl or .parquet (default: JSONL on standard output)"
    )
    run.add_argument("--workers", type=int, default=None, help="processes on this machine (default: all cores)")
    dask_option(run)
    run.add_argument("--performed", default=None, metavar="COLUMN", help="the column holding the procedure performed")
    run.add_argument("--rules", type=Path, default=None, help="knowledge base folder (default: the bundled rules/)")
    jurisdiction(run)
    run.set_defaults(run=run_command)


def dask_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dask",
        default=None,
        metavar="local|ADDRESS",
        help="run on Dask: 'local' for a 2-worker cluster on this machine (127.0.0.1, no dashboard, no spilling), "
        "or a scheduler's address such as tcp://10.0.0.5:8786",
    )
    parser.add_argument(
        "--spill-to",
        type=Path,
        default=None,
        metavar="FOLDER",
        help="with --dask local: let workers spill data to this folder when short of memory (default: never)",
    )


def run_command(args: argparse.Namespace) -> int:
    from decision_aid.atomic_file import OutputPathError, output_target, same_file
    from decision_aid.cohorts.progress import Progress
    from decision_aid.cohorts.runner import run_cohort
    from decision_aid.cohorts.sources import CohortError, cohort_size, read_cohort
    from decision_aid.cohorts.writers import is_parquet, write_jsonl, write_parquet
    from decision_aid.errors import KnowledgeError

    if args.spill_to is not None and args.dask != "local":
        print("error: --spill-to needs --dask local", file=sys.stderr)
        return EXIT_ERROR
    try:
        rows = read_cohort(args.cohort, performed=args.performed)
    except CohortError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_INVALID
    output = args.output
    if output is not None:
        if same_file(args.cohort, output):
            raise OutputPathError(f"cannot write {output}: it is the same file as the input {args.cohort}")
        output_target(output)  # a missing folder: exit 1, before any work
    counts = {"assessed": 0, "invalid": 0, "failed": 0}

    def count(outcome) -> None:
        counts["failed" if outcome.failed else "invalid" if outcome.problems else "assessed"] += 1

    total = cohort_size(args.cohort)
    bar = Progress(total, sys.stderr)
    try:
        outcomes = run_cohort(
            rows,
            rules_dir=args.rules,
            jurisdiction=args.jurisdiction,
            workers=args.workers,
            dask=args.dask,
            progress=lambda done, _: bar.update(done),
            spill_to=args.spill_to,
        )
    except KnowledgeError as error:
        if args.rules is None:  # the installed rules: not the user's input (exit 1)
            raise
        print(f"error: rules folder {args.rules} is not a valid knowledge base:\n{error}", file=sys.stderr)
        return EXIT_INVALID
    _warn_absent_red_flags(args.cohort, args.rules)
    try:
        with closing(outcomes):
            if output is not None and is_parquet(output):
                write_parquet(outcomes, output, count)
            elif output is not None:
                from decision_aid.atomic_file import AtomicFile

                with AtomicFile(output) as out:
                    write_jsonl(outcomes, out, count)
            else:
                write_jsonl(outcomes, sys.stdout.buffer, count)
    except CohortError as error:
        bar.close()
        print(f"error: {error}; {_not_written(output)}", file=sys.stderr)
        return EXIT_INVALID
    except BaseException:
        bar.close()
        done = sum(counts.values())
        print(f"stopped after {done:,} rows; {_not_written(output)}", file=sys.stderr)
        raise
    bar.close()
    print(f"assessed {counts['assessed']}, invalid {counts['invalid']}, failed {counts['failed']}", file=sys.stderr)
    if output is not None:
        print(f"wrote {output}", file=sys.stderr)
    if counts["failed"]:
        return EXIT_ERROR
    return EXIT_INVALID if counts["invalid"] else EXIT_OK


def _warn_absent_red_flags(cohort: Path, rules: Path | None) -> None:
    """One line on standard error if the cohort file has no column for a red-flag field."""
    from decision_aid.cohorts.absent_columns import absent_red_flags_warning
    from decision_aid.knowledge.loader import load

    warning = absent_red_flags_warning(cohort, [load(rules)])  # run_cohort has checked the knowledge base
    if warning:
        print(warning, file=sys.stderr)


def _not_written(output: Path | None) -> str:
    if output is None:
        return "standard output has the results so far only"
    return f"{output} was not written"
