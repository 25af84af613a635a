"""The command line: decision-aid assess | batch | handout | schema | rules check.

Exit codes: 0 done; 2 invalid input (one line per problem on standard error,
naming the field); 1 anything else. This module never imports Streamlit.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from decision_aid.errors import DecisionAidError, InputError, InputProblem, KnowledgeError

EXIT_OK, EXIT_ERROR, EXIT_INVALID = 0, 1, 2


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except InputError as error:
        for problem in error.problems:
            print(f"invalid input: {problem}", file=sys.stderr)
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
    except Exception as error:  # a bug: one clear line rather than a traceback
        print(f"internal error: {error!r} (please report it)", file=sys.stderr)
        return EXIT_ERROR


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
    p.add_argument("file", help="patient JSON file, or - for standard input")
    p.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")
    p.set_defaults(run=_assess)

    p = commands.add_parser("batch", help="assess one patient per line of a JSONL file")
    p.add_argument("file", help="JSONL file, one patient per line (- for standard input)")
    p.add_argument("-o", "--output", help="write assessments here (default: standard output)")
    p.add_argument("--workers", type=int, default=None, help="processes to use (default: all cores)")
    p.set_defaults(run=_batch)

    p = commands.add_parser("handout", help="write the patient handout (PDF) for one patient")
    p.add_argument("file", help="patient JSON file, or - for standard input")
    p.add_argument("-o", "--output", required=True, help="PDF file to write")
    p.set_defaults(run=_handout)

    p = commands.add_parser("schema", help="print the input JSON Schema")
    p.set_defaults(run=_schema)

    p = commands.add_parser("rules", help="knowledge-base tools")
    sub = p.add_subparsers(dest="rules_command", required=True, metavar="ACTION")
    check = sub.add_parser("check", help="validate every file in rules/")
    check.add_argument("--dir", type=Path, default=None, help="knowledge base directory (default: the bundled rules/)")
    check.set_defaults(run=_rules_check)
    return parser


def _read(path: str) -> str:
    try:
        if path == "-":
            return sys.stdin.buffer.read().decode("utf-8-sig")
        return Path(path).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise InputError([InputProblem("(input)", "not UTF-8 text: expected JSON")]) from None


def _assess(args: argparse.Namespace) -> int:
    from decision_aid.assessment import assess
    from decision_aid.text import summary

    assessment = assess(_read(args.file))
    if args.format == "json":
        print(assessment.model_dump_json(indent=2))
    else:
        print(summary(assessment), end="")
    return EXIT_OK


def _batch(args: argparse.Namespace) -> int:
    from decision_aid.batch import run_batch, split_lines

    data = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
    lines = split_lines(data)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as out:
            counts = run_batch(lines, out, sys.stderr, workers=args.workers)
    else:
        counts = run_batch(lines, sys.stdout, sys.stderr, workers=args.workers)
    print(f"assessed {counts.assessed}, invalid {counts.invalid}, failed {counts.failed}", file=sys.stderr)
    if counts.failed:
        return EXIT_ERROR
    return EXIT_INVALID if counts.invalid else EXIT_OK


def _handout(args: argparse.Namespace) -> int:
    from decision_aid.handout import write_handout

    write_handout(_read(args.file), Path(args.output))
    print(f"wrote {args.output}", file=sys.stderr)
    return EXIT_OK


def _schema(args: argparse.Namespace) -> int:
    from decision_aid.models import input_schema

    print(json.dumps(input_schema(), indent=2))
    return EXIT_OK


def _rules_check(args: argparse.Namespace) -> int:
    from decision_aid import patient_view
    from decision_aid.knowledge import load
    from decision_aid.rules_files import yaml_problems

    try:
        unreadable = yaml_problems(args.dir)  # every file, teaching cases included: a repeated key too
        if unreadable:
            raise KnowledgeError(unreadable)
        knowledge = load(args.dir)
        patient_view.load(knowledge)
    except KnowledgeError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        print(f"{len(error.problems)} problem(s)", file=sys.stderr)
        return EXIT_INVALID
    counts = f"{len(knowledge.red_flags)} red flags, {len(knowledge.findings)} findings, {len(knowledge.rules)} rules"
    print(f"knowledge {knowledge.version}: {counts}, {len(knowledge.citations)} citations, patient view: OK")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
