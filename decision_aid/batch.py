"""Batch assessment: JSONL in, JSONL out, in order, on every core.

A bad line becomes `{"line": N, "error": "..."}` in its place and the rest go
on. Work is spread over a process pool (each worker compiles its own engine, as
durable-rules must not be shared between threads or processes); progress goes
to standard error.

A run that stops early (Ctrl-C, SIGTERM, a write error) ends the pool's worker
processes before the exception goes on, and `counts` says how many lines were
written. A worker process that dies raises WorkerDied, naming the lines left
unassessed.
"""

from __future__ import annotations

import json
import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from typing import BinaryIO, TextIO

from decision_aid.errors import DecisionAidError, InputError

# Below this many lines a process pool costs more than it saves.
_POOL_THRESHOLD = 200
_CHUNK = 50
# How long a worker process gets to end after SIGTERM before it is killed.
_END_GRACE_SECONDS = 5.0
# How often the main process checks, while it waits for a result, that no worker has died.
_WATCH_SECONDS = 0.25
_PR_SET_PDEATHSIG = 1  # linux/prctl.h


@dataclass
class Counts:
    assessed: int = 0
    invalid: int = 0
    failed: int = 0

    @property
    def done(self) -> int:
        """Lines whose result has been written, in order from the first."""
        return self.assessed + self.invalid + self.failed


class WorkerDied(DecisionAidError):
    """A worker process died (killed, out of memory, crashed): lines first..last have no result."""

    def __init__(self, first: int, last: int, signal_number: int | None = None):
        self.first, self.last = first, last
        how = f" (killed by signal {signal_number})" if signal_number else ""
        lines = f"line {first:,} was" if first == last else f"lines {first:,}-{last:,} were"
        super().__init__(f"a worker process died{how}; {lines} not assessed")


def split_lines(data: bytes) -> list[bytes]:
    """JSONL lines: split on newline only (JSON text may hold U+2028 and the like);
    trailing blank lines at the end of the file are not patients."""
    lines = data.split(b"\n")
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def assess_line(numbered: tuple[int, bytes], jurisdiction: str | None = None) -> tuple[str, str]:
    """One line -> ("ok" | "invalid" | "failed", output JSON line), assessed under `jurisdiction`."""
    from decision_aid.assessment import assess

    number, raw = numbered
    try:
        if not raw.strip():
            raise InputError([])
        return "ok", assess(raw, jurisdiction).model_dump_json()
    except InputError as error:
        message = str(error) or "empty line: expected one patient as a JSON object"
        return "invalid", json.dumps({"line": number, "error": message})
    except Exception as error:  # a bug: report it in place and go on
        return "failed", json.dumps({"line": number, "error": f"internal error: {error!r}"})


def run_batch(
    lines: list[bytes],
    out: BinaryIO,
    progress: TextIO,
    workers: int | None = None,
    counts: Counts | None = None,
    jurisdiction: str | None = None,
) -> Counts:
    """Assess every line under `jurisdiction` ('uk', the default, or 'us'), writing one result line
    to `out` per input line, in order.

    Pass `counts` to know how far a run got when it raises (Ctrl-C, a dead worker, a write error).
    """
    from decision_aid.models import parse_jurisdiction

    jurisdiction = parse_jurisdiction(jurisdiction)  # a bad one fails here, not once per line
    numbered = list(enumerate(lines, start=1))
    workers = workers or os.cpu_count() or 1
    counts = counts if counts is not None else Counts()
    bar = _Progress(len(numbered), progress)
    try:
        if workers > 1 and len(numbered) >= _POOL_THRESHOLD:
            _run_pool(numbered, workers, out, counts, bar, jurisdiction)
        else:
            _collect((assess_line(n, jurisdiction) for n in numbered), out, counts, bar)
    finally:
        bar.close()
    return counts


def _run_pool(
    numbered: list[tuple[int, bytes]], workers: int, out: BinaryIO, counts: Counts, bar: _Progress, jurisdiction: str
) -> None:
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker)
    processes: list[BaseProcess] = []
    try:
        chunks = [numbered[i : i + _CHUNK] for i in range(0, len(numbered), _CHUNK)]
        with _ctrl_c_ignored():  # the workers start ignoring it (see _start_worker)
            futures = [pool.submit(_assess_chunk, chunk, jurisdiction) for chunk in chunks[:workers]]
        futures += [pool.submit(_assess_chunk, chunk, jurisdiction) for chunk in chunks[workers:]]
        processes = _workers(pool)  # all started by now: one per submit, up to `workers`
        for future in futures:
            _collect(_result(future, processes), out, counts, bar)
    except (BrokenProcessPool, _WorkerGone) as error:
        dead = error.dead if isinstance(error, _WorkerGone) else []
        _end_pool(pool, processes)
        raise WorkerDied(counts.done + 1, len(numbered), _killed_by(dead or processes)) from None
    except BaseException:
        _end_pool(pool, processes)
        raise
    pool.shutdown()


def _assess_chunk(chunk: list[tuple[int, bytes]], jurisdiction: str) -> list[tuple[str, str]]:
    return [assess_line(numbered, jurisdiction) for numbered in chunk]


@contextmanager
def _ctrl_c_ignored() -> Iterator[None]:
    """Ignore Ctrl-C for a moment (while the workers start: an ignored signal stays ignored in a
    new process, so no worker can be interrupted before its initializer runs)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _start_worker() -> None:
    # Ctrl-C in a terminal reaches every process of the group: the main process alone
    # decides what happens (it ends the workers), so workers print no tracebacks.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent()


def _die_with_parent() -> None:
    """On Linux, ask the kernel to kill this worker if the main process dies (even by SIGKILL),
    so that no worker is left waiting for work forever."""
    try:
        import ctypes

        parent = multiprocessing.parent_process()
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if parent is not None and os.getppid() != parent.pid:  # it died before the request
            os._exit(1)
    except (OSError, AttributeError):  # not Linux: the main process ends its workers itself
        pass


class _WorkerGone(Exception):
    """A worker process ended while the pool still had work for it."""

    def __init__(self, dead: list[BaseProcess]):
        self.dead = dead


def _workers(pool: ProcessPoolExecutor) -> list[BaseProcess]:
    return list((getattr(pool, "_processes", None) or {}).values())


def _result(future: Future, processes: list[BaseProcess]) -> list[tuple[str, str]]:
    """The future's result, watching the workers meanwhile.

    A worker killed while it sends a result leaves the pool waiting forever for the rest of
    the message (and holding a lock the other workers need), so the pool never reports it:
    a worker that has ended is noticed here instead.
    """
    sentinels = {process.sentinel: process for process in processes}
    while True:
        try:
            return future.result(timeout=_WATCH_SECONDS)
        except TimeoutError:
            ended = multiprocessing.connection.wait(list(sentinels), timeout=0)
            if ended:
                raise _WorkerGone([sentinels[s] for s in ended]) from None


def _end_pool(pool: ProcessPoolExecutor, processes: list[BaseProcess]) -> None:
    """Stop handing out work and end every worker process now: none is left behind, blocked."""
    processes = processes or _workers(pool)
    manager = getattr(pool, "_executor_manager_thread", None)
    results = getattr(pool, "_result_queue", None)
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()
    _wait_ended(processes)
    for process in processes:  # any that ignored SIGTERM
        if process.exitcode is None and process.is_alive():
            process.kill()
    _wait_ended(processes)
    if results is not None:
        # A worker ended in the middle of sending a result leaves the pool's thread waiting for
        # the rest; with this last copy of the pipe's writing end closed, it reads end-of-file.
        results._writer.close()
    if manager is not None:
        manager.join(_END_GRACE_SECONDS)  # it fails what was pending, closes the queues, reaps the workers


def _wait_ended(processes: list[BaseProcess]) -> None:
    """Wait (a few seconds at most) until every process has ended, without reaping any."""
    deadline = time.monotonic() + _END_GRACE_SECONDS
    waiting = [process.sentinel for process in processes]
    while waiting and (left := deadline - time.monotonic()) > 0:
        ended = multiprocessing.connection.wait(waiting, timeout=left)
        waiting = [s for s in waiting if s not in ended]


def _killed_by(processes: list[BaseProcess]) -> int | None:
    """The signal that killed a worker, when one did (the pool ends the others with SIGTERM)."""
    codes = {-p.exitcode for p in processes if p.exitcode is not None and p.exitcode < 0}
    if len(codes) > 1:
        codes.discard(signal.SIGTERM)
    return codes.pop() if len(codes) == 1 else None


def _collect(results: Iterable[tuple[str, str]], out: BinaryIO, counts: Counts, bar: _Progress) -> None:
    for status, line in results:
        data = line.encode("utf-8") + b"\n"
        # Counted just before the write: Python handles a signal (Ctrl-C) only after a call
        # returns, so the count and the lines written agree wherever the run stops.
        if status == "ok":
            counts.assessed += 1
        elif status == "invalid":
            counts.invalid += 1
        else:
            counts.failed += 1
        out.write(data)
        bar.step()


class _Progress:
    """Progress on standard error.

    On a terminal: one line, redrawn at most ten times a second. Otherwise (a log file,
    a pipe) whole lines only: one at each tenth of the way and at least every 5 seconds.
    `close` always ends the line, so no message is ever glued to the bar.
    """

    def __init__(self, total: int, stream: TextIO):
        self.total, self.stream, self.count = total, stream, 0
        self.start = self.last = time.monotonic()
        self.tty = _is_terminal(stream)
        self.drawn = -1  # the count last shown
        self.tenth = 0  # tenths of the way shown so far (not on a terminal)

    def step(self) -> None:
        self.count += 1
        now = time.monotonic()
        if self.tty:
            if now - self.last >= 0.1:
                self.last = now
                self._show(now)
        elif self.count * 10 >= (self.tenth + 1) * self.total or now - self.last >= 5:
            self.tenth = self.count * 10 // self.total
            self.last = now
            self._show(now)

    def close(self) -> None:
        """Show where the run ended, and end the line."""
        if self.tty or self.drawn != self.count:
            self._show(time.monotonic())
        if self.tty:
            self.stream.write("\n")
        self.stream.flush()

    def _show(self, now: float) -> None:
        share = self.count / self.total if self.total else 1.0
        filled = int(share * 30)
        rate = self.count / max(now - self.start, 1e-9)
        bar = f"[{'#' * filled}{'.' * (30 - filled)}] {self.count}/{self.total} ({share:.0%}, {rate:.0f}/s)"
        self.stream.write(f"\r{bar}" if self.tty else f"{bar}\n")
        self.stream.flush()
        self.drawn = self.count


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
