"""Run the command line in the test's own process: `decision_aid.cli.main(argv)` with standard
input given and standard output and error captured at the file-descriptor level (pytest's
`capfdbinary`), so a test sees what a user's terminal would, without starting an interpreter.

Use it wherever a test is about what the command does (exit code, messages, files written), not
about the process itself (signals, worker processes, the interpreter's exit, the installed entry
point); those start a real process (tests/test_cli.py keeps a few, marked slow).

An exception escaping `main` is not caught here: the test fails with it, which is stricter than a
subprocess's "no Traceback on standard error" (both are still asserted where the tests did).
"""

from __future__ import annotations

import io
import sys
from dataclasses import dataclass
from typing import BinaryIO

import pytest

from decision_aid.cli import main


@dataclass(frozen=True)
class Ran:
    """What a run of the command line gave, shaped as subprocess.CompletedProcess(text=True)."""

    returncode: int
    stdout: str
    stderr: str


def run_cli(capfd: pytest.CaptureFixture[bytes], *args: str, stdin: str | bytes | BinaryIO = b"") -> Ran:
    """`decision-aid ARGS` with `stdin` as standard input (text, bytes, or an open binary file: a
    real file descriptor, for the checks on what standard input is); exit code and decoded output."""
    capfd.readouterr()  # what the test printed before is not the command's
    if isinstance(stdin, str | bytes):
        stdin = io.BytesIO(stdin.encode() if isinstance(stdin, str) else stdin)
    saved = sys.stdin
    sys.stdin = io.TextIOWrapper(stdin, encoding="utf-8")
    try:
        code = main(list(args))
    except SystemExit as stop:  # argparse: a usage error, or --help
        code = stop.code if isinstance(stop.code, int) else 0 if stop.code is None else 1
        if isinstance(stop.code, str):
            print(stop.code, file=sys.stderr)
    finally:
        sys.stdin.detach()  # the caller's file stays open
        sys.stdin = saved
    out, err = capfd.readouterr()
    return Ran(code, out.decode("utf-8"), err.decode("utf-8"))
