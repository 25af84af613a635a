"""Batch assessment: JSONL in, JSONL out, in order, on every core.

A bad line becomes `{"line": N, "error": "..."}` in its place and the rest go
on. Work is spread over a process pool (each worker compiles its own engine, as
durable-rules must not be shared between threads or processes); progress goes
to standard error.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import TextIO

from decision_aid.errors import InputError

# Below this many lines a process pool costs more than it saves.
_POOL_THRESHOLD = 200
_CHUNK = 50


@dataclass
class Counts:
    assessed: int = 0
    invalid: int = 0
    failed: int = 0


def split_lines(data: bytes) -> list[bytes]:
    """JSONL lines: split on newline only (JSON text may hold U+2028 and the like);
    trailing blank lines at the end of the file are not patients."""
    lines = data.split(b"\n")
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def assess_line(numbered: tuple[int, bytes]) -> tuple[str, str]:
    """One line -> ("ok" | "invalid" | "failed", output JSON line)."""
    from decision_aid.assessment import assess

    number, raw = numbered
    try:
        line = raw.decode("utf-8-sig") if number == 1 else raw.decode("utf-8")
        if not line.strip():
            raise InputError([])
        return "ok", assess(line).model_dump_json()
    except UnicodeDecodeError:
        return "invalid", json.dumps({"line": number, "error": "not UTF-8 text: expected JSON"})
    except InputError as error:
        message = str(error) or "empty line: expected one patient as a JSON object"
        return "invalid", json.dumps({"line": number, "error": message})
    except Exception as error:  # a bug: report it in place and go on
        return "failed", json.dumps({"line": number, "error": f"internal error: {error!r}"})


def run_batch(lines: list[bytes], out: TextIO, progress: TextIO, workers: int | None = None) -> Counts:
    numbered = list(enumerate(lines, start=1))
    workers = workers or os.cpu_count() or 1
    counts = Counts()
    bar = _Progress(len(numbered), progress)
    if workers > 1 and len(numbered) >= _POOL_THRESHOLD:
        # A dead worker raises BrokenProcessPool here instead of hanging the batch.
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            _collect(pool.map(assess_line, numbered, chunksize=_CHUNK), out, counts, bar)
    else:
        _collect(map(assess_line, numbered), out, counts, bar)
    bar.done()
    return counts


def _collect(results, out: TextIO, counts: Counts, bar: _Progress) -> None:
    for status, line in results:
        out.write(line + "\n")
        if status == "ok":
            counts.assessed += 1
        elif status == "invalid":
            counts.invalid += 1
        else:
            counts.failed += 1
        bar.step()


class _Progress:
    """A one-line progress bar on standard error, redrawn at most ten times a second."""

    def __init__(self, total: int, stream: TextIO):
        self.total, self.stream, self.count = total, stream, 0
        self.start = self.last = time.monotonic()

    def step(self) -> None:
        self.count += 1
        now = time.monotonic()
        if now - self.last >= 0.1:
            self.last = now
            self._draw(now)

    def done(self) -> None:
        self._draw(time.monotonic())
        self.stream.write("\n")
        self.stream.flush()

    def _draw(self, now: float) -> None:
        share = self.count / self.total if self.total else 1.0
        filled = int(share * 30)
        rate = self.count / max(now - self.start, 1e-9)
        self.stream.write(
            f"\r[{'#' * filled}{'.' * (30 - filled)}] {self.count}/{self.total} ({share:.0%}, {rate:.0f}/s)"
        )
        self.stream.flush()
