"""The command line: decision-aid assess | batch | handout | schema | rules check | serve-cds.

Exit codes: 0 done; 2 invalid input (one line per problem on standard error,
naming the field) or an input file that cannot be read; 1 anything else (an
output path problem, Ctrl-C, SIGTERM, ...). This module never imports Streamlit.

Output files are written whole or not at all (decision_aid.atomic_file): a run
that stops early leaves an existing output file as it was.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from decision_aid.errors import DecisionAidError, InputError, KnowledgeError

if TYPE_CHECKING:
    import datetime as dt

    from decision_aid.atomic_file import AtomicFile
    from decision_aid.cohorts.batch import Counts

EXIT_OK, EXIT_ERROR, EXIT_INVALID = 0, 1, 2


class Terminated(BaseException):
    """SIGTERM arrived: handled like Ctrl-C (a BaseException, so that no `except Exception` swallows it)."""


class _Stopped(Exception):
    """A run stopped early; the message says how far it got and what was (not) written."""


class _Unreadable(DecisionAidError):
    """The input file cannot be read (exit 2, like invalid input)."""


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if getattr(args, "keep_partial", False) and not args.output:
        parser.error("--keep-partial needs -o/--output (results on standard output are never removed)")
    if args.command == "assess" and (args.file is None) == (args.fhir is None):
        parser.error("assess needs a patient FILE or --fhir BUNDLE (one of them)")
    if args.command == "assess" and args.fhir is None and (args.answers or args.as_of):
        parser.error("--answers and --as-of go with --fhir")
    with _stop_signals():
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    try:
        return args.run(args)
    except _Stopped as stopped:
        print(stopped, file=sys.stderr)
        return EXIT_ERROR
    except InputError as error:
        for problem in error.problems:
            print(f"invalid input: {problem}", file=sys.stderr)
        return EXIT_INVALID
    except _Unreadable as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_INVALID
    except KnowledgeError as error:
        print(f"the knowledge base is invalid:\n{error}", file=sys.stderr)
        return EXIT_ERROR
    except (DecisionAidError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_ERROR
    except Terminated:
        print("terminated", file=sys.stderr)
        return EXIT_ERROR
    except Exception as error:  # a bug: one clear line rather than a traceback
        print(f"internal error: {error!r} (please report it)", file=sys.stderr)
        return EXIT_ERROR


@contextmanager
def _stop_signals():
    """Ctrl-C raises KeyboardInterrupt and SIGTERM raises Terminated, once: a second signal
    while the first is being handled is ignored, so that the clean-up (ending the worker
    processes, removing the temporary file) finishes. A third gives up on the clean-up."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received = 0

    def stop(signum: int, frame: object) -> None:
        nonlocal received
        received += 1
        if received == 1:
            raise KeyboardInterrupt if signum == signal.SIGINT else Terminated
        if received >= 3:  # the clean-up seems stuck: end now, as without this handler
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)

    previous = {signum: signal.signal(signum, stop) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


class _Parser(argparse.ArgumentParser):
    """Usage mistakes exit 1: the contract keeps exit code 2 for invalid patient input."""

    def error(self, message: str) -> None:
        self.print_usage(sys.stderr)
        self.exit(EXIT_ERROR, f"{self.prog}: error: {message}\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="decision-aid",
        description="Rule-based decision aid for lumbar spine surgery: a discussion aid, never an order.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = commands.add_parser("assess", help="assess one patient (JSON file, or - for standard input)")
    p.add_argument("file", nargs="?", help="patient JSON file, or - for standard input")
    p.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")
    _jurisdiction_option(p)
    _fhir_options(p)
    p.set_defaults(run=_assess)

    p = commands.add_parser("batch", help="assess one patient per line of a JSONL file")
    p.add_argument("file", help="JSONL file, one patient per line (- for standard input)")
    p.add_argument("-o", "--output", help="write assessments here (default: standard output)")
    p.add_argument("--workers", type=int, default=None, help="processes to use (default: all cores)")
    from decision_aid.cohorts.commands import add_cohort_parser, dask_option

    dask_option(p)
    p.add_argument(
        "--keep-partial",
        action="store_true",
        help="if the run stops early, keep the results so far in OUTPUT.partial (default: nothing is written)",
    )
    _jurisdiction_option(p)
    p.set_defaults(run=_batch)

    p = commands.add_parser("handout", help="write the patient handout (PDF) for one patient")
    p.add_argument("file", help="patient JSON file, or - for standard input")
    p.add_argument("-o", "--output", required=True, help="PDF file to write")
    _jurisdiction_option(p)
    p.set_defaults(run=_handout)

    p = commands.add_parser("schema", help="print the input JSON Schema")
    p.set_defaults(run=_schema)

    p = commands.add_parser("serve-cds", help="run the CDS Hooks service (cards for a record system)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=8610, help="port to listen on (default: 8610)")
    p.add_argument("--config", help="TOML settings file (DECISION_AID_CDS_* environment variables override it)")
    p.set_defaults(run=_serve_cds)

    p = commands.add_parser("rules", help="knowledge-base tools")
    sub = p.add_subparsers(dest="rules_command", required=True, metavar="ACTION")
    check = sub.add_parser("check", help="validate every file in rules/")
    check.add_argument("--dir", type=Path, default=None, help="knowledge base directory (default: the bundled rules/)")
    check.set_defaults(run=_rules_check)
    add_cohort_parser(commands, _jurisdiction_option)  # cohort run
    from decision_aid.governance import commands as governance

    governance.add_diff(sub.add_parser("diff", help="what changing the rules does to a cohort's verdicts (a report)"))
    governance.add_stamp(sub.add_parser("stamp", help="record a raised knowledge version: content hash, diff summary"))
    governance.add_audit(commands.add_parser("audit", help="procedures performed in a cohort against the rules"))
    return parser


def _fhir_options(parser: argparse.ArgumentParser) -> None:
    """assess --fhir BUNDLE [--answers FILE] [--as-of DATE]: the patient from a FHIR R4 bundle."""
    parser.add_argument("--fhir", metavar="BUNDLE", help="a FHIR R4 Bundle (JSON) in place of a patient file")
    parser.add_argument("--answers", metavar="FILE", help="with --fhir: the answers the record lacks (JSON)")
    parser.add_argument("--as-of", type=_as_of_date, help="with --fhir: the date ages are counted to (default: today)")


def _as_of_date(text: str) -> dt.date:
    """--as-of's value; the FHIR reader is imported only when the option is given (a cheap cold start)."""
    from decision_aid.records.fhir_text import as_of_date

    return as_of_date(text)


def _jurisdiction_option(parser: argparse.ArgumentParser) -> None:
    """--jurisdiction uk|us on every command that assesses; a bad value is a usage error (exit 1)."""
    from decision_aid.models import DEFAULT_JURISDICTION, JURISDICTIONS

    parser.add_argument(
        "--jurisdiction",
        choices=JURISDICTIONS,
        default=DEFAULT_JURISDICTION,
        help=f"whose guidance and device labels the verdicts follow: {' or '.join(JURISDICTIONS)} "
        f"(default: {DEFAULT_JURISDICTION})",
    )


def _open(path: str) -> BinaryIO:
    """The input file (- for standard input), open for reading bytes; _Unreadable names the path."""
    if path == "-":
        return sys.stdin.buffer
    try:
        return open(path, "rb")
    except OSError as error:
        raise _Unreadable(f"cannot read {path}: {error.strerror or error}") from None


def _read(path: str) -> bytes:
    """The input's bytes, undecoded: the parser checks the size, the encoding and the JSON."""
    source = _open(path)
    try:
        return source.read()
    except OSError as error:  # a folder, a device that fails
        raise _Unreadable(f"cannot read {path}: {error.strerror or error}") from None
    finally:
        if source is not sys.stdin.buffer:
            source.close()


def _refuse_input_as_output(source: str, output: str) -> None:
    """Writing the results over the input would lose the patients: refuse before any work."""
    from decision_aid.atomic_file import OutputPathError, same_file

    if source == "-":
        try:
            same = os.path.samestat(os.fstat(sys.stdin.fileno()), os.stat(output))
        except (OSError, ValueError):
            same = False
        name = "standard input"
    else:
        same = same_file(source, output)
        name = f"the input {source}"
    if same:
        raise OutputPathError(f"cannot write {output}: it is the same file as {name}; choose another output file")


def _assess(args: argparse.Namespace) -> int:
    from decision_aid.engine.assessment import assess
    from decision_aid.views.summary import summary

    if args.fhir is not None:
        from decision_aid.records.fhir_text import assess_record

        return assess_record(args, _read)
    assessment = assess(_read(args.file), args.jurisdiction)
    if args.format == "json":
        print(assessment.model_dump_json(indent=2))
    else:
        print(summary(assessment), end="")
    return EXIT_OK


def _batch(args: argparse.Namespace) -> int:
    from decision_aid.atomic_file import AtomicFile
    from decision_aid.cohorts.batch import Counts, WorkerDied, run_batch, split_lines

    target = None
    if args.output:
        if args.file != "-":
            _open(args.file).close()  # a missing input is exit 2, before any output problem
        _refuse_input_as_output(args.file, args.output)
        target = AtomicFile(args.output, partial=f"{args.output}.partial" if args.keep_partial else None)
    lines = split_lines(_read(args.file))
    counts = Counts()
    before = _identity(args.output)
    try:
        with target if target is not None else nullcontext(sys.stdout.buffer) as out:
            run_batch(
                lines,
                out,
                sys.stderr,
                workers=args.workers,
                counts=counts,
                jurisdiction=args.jurisdiction,
                dask=args.dask,
                spill_to=args.spill_to,
            )
    except (KeyboardInterrupt, Terminated, WorkerDied, OSError) as error:
        written = target is not None and _identity(args.output) not in (before, None)
        raise _Stopped(_how_far(error, counts, len(lines), args.output, target, written)) from None
    print(f"assessed {counts.assessed}, invalid {counts.invalid}, failed {counts.failed}", file=sys.stderr)
    if target is not None:
        print(f"wrote {args.output}", file=sys.stderr)
    if counts.failed:
        return EXIT_ERROR
    return EXIT_INVALID if counts.invalid else EXIT_OK


def _identity(path: str | None) -> tuple[int, int] | None:
    """Which file is at `path` now (a file renamed into place is a new one), or None."""
    try:
        found = os.stat(path) if path else None
    except OSError:
        return None
    return (found.st_dev, found.st_ino) if found else None


def _how_far(
    error: BaseException, counts: Counts, total: int, output: str | None, target: AtomicFile | None, written: bool
) -> str:
    """What stopped a batch, how far it got, and what is (and is not) on disk."""
    done = f"{counts.done:,} of {total:,} lines"
    if isinstance(error, KeyboardInterrupt):
        what = f"interrupted after {done}"
    elif isinstance(error, Terminated):
        what = f"terminated after {done}"
    elif isinstance(error, OSError):
        where = output or "standard output"
        what = f"stopped after {done}: could not write {where}: {error.strerror or error}"
    else:
        what = str(error)
    if target is None:
        return f"{what}; standard output has the results of the first {counts.done:,} lines only"
    if written:  # stopped just after the output was renamed into place
        return f"{what}; {output} was written in full"
    parts = [what]
    if target.kept_lines is not None:
        parts.append(f"the results of the first {target.kept_lines:,} lines are in {target.partial}")
    unchanged = " (its previous content is unchanged)" if target.existed else ""
    parts.append(f"{output} was not written{unchanged}")
    if target.partial is None and counts.done:
        parts.append("--keep-partial keeps the results so far")
    return "; ".join(parts)


def _handout(args: argparse.Namespace) -> int:
    from decision_aid.atomic_file import output_target
    from decision_aid.engine.assessment import default_aid
    from decision_aid.views.handout import write_handout
    from decision_aid.views.patient_view import view_of

    if args.file != "-":
        _open(args.file).close()  # a missing input is exit 2, before any output problem
    _refuse_input_as_output(args.file, args.output)
    output_target(args.output)  # a missing folder: exit 1, before any work
    data = _read(args.file)
    before = _identity(args.output)
    try:
        aid = default_aid()  # the entry point's DecisionAid, passed down to the handout
        assessment = aid.assess(data, args.jurisdiction)  # the handout shows this assessment (its jurisdiction)
        write_handout(data, args.output, aid=aid, view=view_of(aid.knowledge), assessment=assessment)
    except (KeyboardInterrupt, Terminated, OSError) as error:
        if isinstance(error, OSError):
            what = f"error: could not write {args.output}: {error.strerror or error}"
        else:
            what = "interrupted" if isinstance(error, KeyboardInterrupt) else "terminated"
        if _identity(args.output) not in (before, None):  # stopped just after the rename
            raise _Stopped(f"{what}; {args.output} was written in full") from None
        unchanged = " (its previous content is unchanged)" if before else ""
        raise _Stopped(f"{what}; {args.output} was not written{unchanged}") from None
    print(f"wrote {args.output}", file=sys.stderr)
    return EXIT_OK


def _schema(args: argparse.Namespace) -> int:
    from decision_aid.models import input_schema

    print(json.dumps(input_schema(), indent=2))
    return EXIT_OK


def _serve_cds(args: argparse.Namespace) -> int:
    from decision_aid.records.cds_config import ConfigError, load_config
    from decision_aid.records.cds_service import serve

    try:
        config = load_config(args.config, default_service_url=f"http://{args.host}:{args.port}")
    except ConfigError as error:
        for problem in error.problems:
            print(f"configuration error: {problem}", file=sys.stderr)
        return EXIT_ERROR
    serve(args.host, args.port, config)
    return EXIT_OK


def _rules_check(args: argparse.Namespace) -> int:
    from decision_aid.engine.agreement import compare
    from decision_aid.knowledge.files import yaml_problems
    from decision_aid.knowledge.loader import load
    from decision_aid.records.fhir_codes import check_code_map
    from decision_aid.views import patient_view

    try:
        unreadable = yaml_problems(args.dir)  # every file, teaching cases included: a repeated key too
        if unreadable:
            raise KnowledgeError(unreadable)
        knowledge = load(args.dir)
        patient_view.load(knowledge)
        codes, code_problems = check_code_map(args.dir)  # rules/fhir_codes.yaml
        if code_problems:
            raise KnowledgeError(code_problems)
        from decision_aid.governance.commands import rules_check_problems  # change log, content hash

        if governance := rules_check_problems(args.dir, knowledge):
            raise KnowledgeError(governance)
    except KnowledgeError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        print(f"{len(error.problems)} problem(s)", file=sys.stderr)
        return EXIT_INVALID
    counts = f"{len(knowledge.red_flags)} red flags, {len(knowledge.findings)} findings, {len(knowledge.rules)} rules"
    print(f"knowledge {knowledge.version}: {counts}, {len(knowledge.citations)} citations, patient view: OK")
    print(f"FHIR code map: {len(codes.entries)} codes, OK")
    report = compare(knowledge)  # the Python reading against durable-rules, on every threshold grid
    for divergence in report.divergences:
        print(divergence, file=sys.stderr)
    if report.divergences:
        print(f"{len(report.divergences)} divergence(s) between the Python reading and durable-rules", file=sys.stderr)
        return EXIT_INVALID
    print(f"Python reading = durable-rules on every threshold grid ({report.passes:,} passes)")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
