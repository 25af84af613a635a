"""The local process pool: chunks of work in, their results out in order, on every core.

Each worker process is started with "spawn" (durable-rules must not be shared between
processes, and a fork would copy the parent's engine); it ignores Ctrl-C (the main process
alone decides what happens, so workers print no tracebacks) and, on Linux, dies with the
main process even when that is killed outright.

At most a few chunks per worker are in flight, so a cohort of any size streams through in
bounded memory. A run that stops early (Ctrl-C, SIGTERM, an error in the caller, closing the
iterator) ends every worker process before the exception goes on. A worker process that dies
(killed, out of memory, crashed) raises PoolBroken, with the signal that killed it if one did.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from multiprocessing.process import BaseProcess
from typing import Any, TypeVar

Chunk = TypeVar("Chunk")
Result = TypeVar("Result")

# Chunks in flight per worker: enough to keep every worker busy while results are collected.
_AHEAD = 4
# How long a worker process gets to end after SIGTERM before it is killed.
_END_GRACE_SECONDS = 5.0
# How often the main process checks, while it waits for a result, that no worker has died.
_WATCH_SECONDS = 0.25
_PR_SET_PDEATHSIG = 1  # linux/prctl.h


class PoolBroken(Exception):
    """A worker process died while the pool still had work for it."""

    def __init__(self, signal_number: int | None):
        self.signal_number = signal_number
        super().__init__(f"a worker process died (signal {signal_number})")


def map_ordered(func: Callable[..., Result], chunks: Iterable[Chunk], workers: int, *args: Any) -> Iterator[Result]:
    """`func(chunk, *args)` for each chunk on `workers` processes, yielded in the chunks' order."""
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker)
    processes: list[BaseProcess] = []
    source = iter(chunks)
    pending: deque[Future] = deque()
    try:
        with _ctrl_c_ignored():  # the workers start ignoring it (see _start_worker)
            _fill(pool, pending, source, workers, func, args)
        processes = _workers(pool)  # all started by now: one per submit, up to `workers`
        _fill(pool, pending, source, workers * _AHEAD, func, args)
        while pending:
            result = _result(pending.popleft(), processes)
            _fill(pool, pending, source, workers * _AHEAD, func, args)
            yield result
    except (BrokenProcessPool, _WorkerGone) as error:
        dead = error.dead if isinstance(error, _WorkerGone) else []
        _end_pool(pool, processes)
        raise PoolBroken(_killed_by(dead or processes)) from None
    except BaseException:  # Ctrl-C, SIGTERM, the caller closing the iterator, an error
        _end_pool(pool, processes)
        raise
    pool.shutdown()


def _fill(
    pool: ProcessPoolExecutor, pending: deque[Future], source: Iterator[Any], limit: int, func: Callable, args: tuple
) -> None:
    while len(pending) < limit:
        chunk = next(source, None)
        if chunk is None:
            return
        pending.append(pool.submit(func, chunk, *args))


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


def _result(future: Future, processes: list[BaseProcess]) -> Any:
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
