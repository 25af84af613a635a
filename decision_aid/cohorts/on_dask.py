"""The cohort runner on Dask distributed: partitions of rows to workers, results back in order.

`address` is "local" (a LocalCluster started here: 2 worker processes, 1 thread each, on
127.0.0.1 only, no dashboard) or a scheduler's address ("tcp://host:8786"). Patient data
goes only to the scheduler and its workers, and only as long as a partition is being
assessed; it is never spilled to disk unless `spill_to` names a folder (`--dask local`
turns spilling off; a cluster of one's own follows its own configuration: see the README).

Each worker builds its engine once per knowledge base (decision_aid.cohorts.work). The
knowledge base travels with the run: its files are sent to every worker once and written
to a private folder there, so every worker runs exactly this machine's rules; the workers
need the same decision_aid version installed, which is checked before any row is sent.

A worker that dies mid-partition: Dask runs the partition again on another worker; when it
cannot (the partition killed `distributed.scheduler.allowed-failures` + 1 workers, or the
cluster is gone), DaskWorkersDied says so, and the caller writes nothing as complete. A
cluster that cannot be used at all (unreachable, no workers, another decision_aid version)
raises DaskFailed before any row is sent.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import tempfile
from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from decision_aid.cohorts import work
from decision_aid.cohorts.rows import CohortRow, Outcome
from decision_aid.errors import DecisionAidError
from decision_aid.knowledge.files import rules_dir

LOCAL = "local"
_AHEAD = 3  # partitions in flight per worker thread
_CONNECT_SECONDS = 30


class DaskFailed(DecisionAidError):
    """The Dask cluster could not run the cohort (unreachable, no workers, another decision_aid version)."""


class DaskWorkersDied(DaskFailed):
    """Workers died mid-run beyond what Dask retries, or the cluster went away: rows are left without a result."""


@dataclass(frozen=True)
class KnowledgeFiles:
    """A knowledge base's files (relative path -> bytes) and their fingerprint."""

    fingerprint: str
    files: dict[str, bytes]


def knowledge_files(directory: Path) -> KnowledgeFiles:
    files = {p.relative_to(directory).as_posix(): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}
    digest = hashlib.sha256()
    for name, data in files.items():
        digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    return KnowledgeFiles(digest.hexdigest(), files)


def map_on_dask(
    address: str,
    chunks: Iterable[list[tuple[int, CohortRow]]],
    rules: str | None,
    jurisdiction: str,
    explain: bool,
    spill_to: Path | None = None,
    missing: bool = True,
) -> Iterator[list[Outcome]]:
    """Each chunk's outcomes, assessed on the cluster at `address`, in the chunks' order."""
    from distributed import CancelledError, KilledWorker

    with ExitStack() as stack:
        client = _connect(address, spill_to, stack)
        threads = _check_workers(client)
        knowledge = client.scatter(knowledge_files(Path(rules) if rules else rules_dir()), broadcast=True)
        source = iter(chunks)
        pending: deque[Any] = deque()

        def fill() -> None:
            while len(pending) < threads * _AHEAD and (chunk := next(source, None)) is not None:
                pending.append(
                    client.submit(assess_partition, chunk, knowledge, jurisdiction, explain, missing, pure=False)
                )

        try:
            fill()
            while pending:
                future = pending.popleft()
                try:
                    outcomes = future.result()
                except KilledWorker:
                    raise DaskWorkersDied(
                        "Dask gave up on a partition whose workers kept dying (distributed.scheduler.allowed-failures)"
                    ) from None
                except (CancelledError, OSError) as error:
                    raise DaskWorkersDied(f"the Dask cluster stopped: {error!r}") from None
                fill()
                yield outcomes
        finally:
            client.cancel(list(pending))


def _connect(address: str, spill_to: Path | None, stack: ExitStack) -> Any:
    import dask
    from distributed import Client, LocalCluster

    if address != LOCAL:
        try:
            return stack.enter_context(Client(address, timeout=_CONNECT_SECONDS))
        except (OSError, TimeoutError, ValueError) as error:
            raise DaskFailed(f"cannot reach the Dask scheduler at {address}: {error}") from None
    # No dashboard and no information pages (the HTTP servers answer health checks only), every
    # server on 127.0.0.1, and no spilling unless a folder is named.
    settings: dict[str, Any] = {
        "distributed.scheduler.http.routes": ["distributed.http.health"],
        "distributed.worker.http.routes": ["distributed.http.health"],
        "distributed.worker.memory.target": False,
        "distributed.worker.memory.spill": False,
        "distributed.worker.profile.enabled": False,  # stack sampling every 10 ms costs time and shows nothing here
        "distributed.nanny.pre-spawn-environ": _worker_environ(),
    }
    options: dict[str, Any] = {}
    if spill_to is not None:
        settings["distributed.worker.memory.target"] = 0.6
        settings["distributed.worker.memory.spill"] = 0.7
        settings["temporary-directory"] = str(spill_to)
        options = {"local_directory": str(spill_to)}
    stack.enter_context(dask.config.set(settings))
    # Distributed also copies its pre-spawn settings into this process's environment for good
    # (os.environ.update), so a cluster started earlier in the process would pass the threshold on
    # all the same: it is left out of the environment while this cluster runs, then put back.
    previous = os.environ.pop("MALLOC_TRIM_THRESHOLD_", None)
    if previous is not None:
        stack.callback(os.environ.__setitem__, "MALLOC_TRIM_THRESHOLD_", previous)
    cluster = stack.enter_context(
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            **options,
        )
    )
    return stack.enter_context(Client(cluster))


def _worker_environ() -> dict[str, Any]:
    """Dask's environment for new worker processes, less its MALLOC_TRIM_THRESHOLD_: a fixed trim
    threshold also fixes glibc's mmap threshold, and durable-rules then maps and unmaps memory on
    every pass (measured: half of each worker's time in system calls, Dask at 45 % of the local
    pool's speed; without it, 0.4 s of system time per 5,000 patients)."""
    import dask

    environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ", default={}) or {})
    environ.pop("MALLOC_TRIM_THRESHOLD_", None)
    return environ


def _check_workers(client: Any) -> int:
    """Worker threads in the cluster, once every worker is known to run this decision_aid version."""
    try:
        client.wait_for_workers(1, timeout=_CONNECT_SECONDS)
    except TimeoutError:
        raise DaskFailed("the Dask cluster has no workers") from None
    mine = _version()
    theirs = client.run(_version)
    wrong = {worker: version for worker, version in theirs.items() if version != mine}
    if wrong:
        worker, version = next(iter(wrong.items()))
        raise DaskFailed(
            f"worker {worker} runs decision_aid {version}, this machine {mine}; install the same on every worker"
        )
    return sum(client.nthreads().values())


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("decision_aid")
    except PackageNotFoundError:
        return "(not installed)"


# ---- on the worker ------------------------------------------------------------------------------

_folders: dict[str, str] = {}


def assess_partition(
    chunk: list[tuple[int, CohortRow]],
    knowledge: KnowledgeFiles,
    jurisdiction: str,
    explain: bool,
    missing: bool = True,
) -> list[Outcome]:
    """A partition's outcomes, with this worker's engine for that knowledge base (built once)."""
    return work.assess_rows(chunk, _folder(knowledge), jurisdiction, explain, missing)


def _folder(knowledge: KnowledgeFiles) -> str:
    """The knowledge base written to a private folder on this worker, once per fingerprint."""
    with work._lock:
        folder = _folders.get(knowledge.fingerprint)
        if folder is None:
            folder = tempfile.mkdtemp(prefix="decision_aid_rules_")
            atexit.register(shutil.rmtree, folder, True)
            for name, data in knowledge.files.items():
                path = Path(folder, name)
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
            _folders[knowledge.fingerprint] = folder
        return folder
