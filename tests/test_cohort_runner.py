"""The cohort runner: serially, on the local pool and on Dask, the same outcomes in the same order."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest

from decision_aid.cohorts import runner
from decision_aid.cohorts.rows import CohortRow, Outcome
from decision_aid.cohorts.runner import run_cohort
from decision_aid.errors import InputError, KnowledgeError
from tests.cohort_support import small_cohort
from tests.conftest import edit_rule, variant

THRESHOLD_RULE = "fusion.slip-grade-2-or-more"


def outcomes(**options) -> list[Outcome]:
    return list(run_cohort(small_cohort(), explain=True, **options))


def test_serial_outcomes_are_each_patients_own_assessment_in_order(aid):
    rows = small_cohort()
    got = list(run_cohort(rows, workers=1, explain=True, jurisdiction="us"))
    assert [o.id for o in got] == [r.id for r in rows] and [o.row for o in got] == list(range(1, len(rows) + 1))
    assert [o.performed for o in got] == [r.performed for r in rows]
    for row, outcome in zip(rows, got, strict=True):
        if row.id in ("bad-json", "bad-field", "empty", "read-problem"):
            continue
        explained = aid.explain(row.patient, "us")
        assert outcome.ok and not outcome.failed
        assert outcome.json == explained.assessment.model_dump_json()
        assert outcome.assessment == explained.assessment
        assert outcome.fired == (*explained.result.red_flags, *explained.result.fired)
    problems = {o.id: o.problems for o in got if not o.ok}
    assert set(problems) == {"bad-json", "bad-field", "empty", "read-problem"}
    assert problems["bad-json"][0].startswith("(input): not valid JSON")
    assert problems["bad-field"][0].startswith("age: ") and "18 to 110" in problems["bad-field"][0]
    assert problems["empty"] == ["empty line: expected one patient as a JSON object"]
    assert problems["read-problem"] == ['odi: row 9: "x" is not an integer']
    assert all(o.assessment is None and o.fired is None for o in got if not o.ok)


def test_a_red_flag_patients_fired_rules_are_its_red_flags():
    (outcome,) = run_cohort([CohortRow("x", None, variant("red_flag"))], workers=1, explain=True)
    assert outcome.assessment.urgent_referral and outcome.fired == ("red-flag.cauda-equina",)


def test_without_explain_nothing_fired_is_kept():
    assert all(o.fired is None for o in run_cohort(small_cohort(6), workers=1))


def without_missing(outcome: Outcome) -> str | None:
    """The outcome's assessment JSON with its missing information emptied."""
    if outcome.assessment is None:
        return None
    return outcome.assessment.model_copy(update={"missing_information": []}).model_dump_json()


def test_without_the_missing_information_search_the_rest_of_each_assessment_is_the_same():
    full = list(run_cohort(small_cohort(), workers=1, explain=True))
    quick = list(run_cohort(small_cohort(), workers=1, explain=True, missing=False))
    assert any(o.assessment and o.assessment.missing_information for o in full)  # the search finds some
    assert all(o.assessment is None or o.assessment.missing_information == [] for o in quick)
    assert [o.json for o in quick] == [without_missing(o) for o in full]
    assert [(o.id, o.row, o.problems, o.fired) for o in quick] == [(o.id, o.row, o.problems, o.fired) for o in full]


@pytest.mark.slow  # a process pool and a Dask LocalCluster
def test_the_pool_and_dask_workers_skip_the_missing_information_search_when_asked(monkeypatch):
    monkeypatch.setattr(runner, "POOL_THRESHOLD", 0)  # a small cohort through the pool all the same
    serial = outcomes(workers=1, missing=False)
    assert outcomes(workers=2, chunk_rows=7, missing=False) == serial
    assert outcomes(dask="local", chunk_rows=7, missing=False) == serial
    assert [o.json for o in serial] == [without_missing(o) for o in outcomes(workers=1)]


def test_an_outcome_crosses_processes_as_its_json_and_reads_back_the_same():
    outcome = next(iter(run_cohort(small_cohort(2), workers=1, explain=True)))
    copy = pickle.loads(pickle.dumps(outcome))
    assert copy == outcome and copy.assessment == outcome.assessment and copy.fired == outcome.fired


def test_two_knowledge_bases_side_by_side_in_one_process(kb):
    edit_rule(kb, "options/fusion.yaml", THRESHOLD_RULE, when="slip_grade >= 3")
    rows = small_cohort()
    new = run_cohort(rows, rules_dir=kb, workers=1, explain=True)
    old = run_cohort(rows, workers=1, explain=True)
    pairs = list(zip(old, new, strict=True))  # interleaved: each pass alternates between the engines
    moved = {a.id for a, b in pairs if a.json != b.json}
    slip_2 = {r.id for r in rows if isinstance(r.patient, dict) and r.patient.get("slip_grade") == 2}
    assert slip_2 and moved and moved <= {a.id for a, _ in pairs if a.fired and THRESHOLD_RULE in a.fired}
    assert all(THRESHOLD_RULE not in (b.fired or ()) for _, b in pairs if b.id in slip_2)


def test_a_knowledge_base_that_is_missing_or_broken_fails_before_any_work(tmp_path, kb):
    with pytest.raises(KnowledgeError, match="not found"):
        run_cohort(small_cohort(2), rules_dir=tmp_path / "nowhere")
    edit_rule(kb, "options/fusion.yaml", THRESHOLD_RULE, when="slip_grade >= 'x'")
    with pytest.raises(KnowledgeError, match=THRESHOLD_RULE):
        run_cohort(small_cohort(2), rules_dir=kb)


def test_a_bad_jurisdiction_fails_before_any_work():
    with pytest.raises(InputError, match="jurisdiction"):
        run_cohort(small_cohort(2), jurisdiction="fr")


@pytest.mark.slow  # a process pool
def test_the_local_pool_gives_the_serial_outcomes(monkeypatch, kb):
    monkeypatch.setattr(runner, "POOL_THRESHOLD", 0)  # a small cohort through the pool all the same
    serial = outcomes(workers=1)
    assert outcomes(workers=2, chunk_rows=7) == serial
    edit_rule(kb, "options/fusion.yaml", THRESHOLD_RULE, when="slip_grade >= 3")
    assert outcomes(workers=2, chunk_rows=7, rules_dir=kb) == outcomes(workers=1, rules_dir=kb) != serial


@pytest.mark.slow  # a process pool
def test_progress_counts_every_row_once_in_order(monkeypatch):
    monkeypatch.setattr(runner, "POOL_THRESHOLD", 0)
    seen: list[tuple[int, int | None]] = []
    rows = small_cohort()
    list(run_cohort(rows, workers=2, chunk_rows=9, progress=lambda done, total: seen.append((done, total))))
    assert seen == [(n, len(rows)) for n in range(1, len(rows) + 1)]
    seen.clear()
    list(run_cohort(iter(rows), workers=1, progress=lambda done, total: seen.append((done, total))))
    assert seen == [(n, None) for n in range(1, len(rows) + 1)]


def test_rules_dir_may_be_given_as_text_or_path(kb):
    assert next(iter(run_cohort(small_cohort(1), rules_dir=Path(str(kb)), workers=1))).ok


# ---- Dask distributed ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cluster_address():
    """A 2-worker LocalCluster of the test's own, to kill workers of (its address is given as --dask)."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None) as c:
        yield c.scheduler_address


@pytest.mark.slow  # a Dask LocalCluster
def test_a_local_dask_cluster_gives_the_serial_outcomes(kb):
    serial = outcomes(workers=1)
    assert outcomes(dask="local", chunk_rows=7) == serial
    edit_rule(kb, "options/fusion.yaml", THRESHOLD_RULE, when="slip_grade >= 3")
    assert outcomes(dask="local", chunk_rows=7, rules_dir=kb) == outcomes(workers=1, rules_dir=kb) != serial


@pytest.mark.slow  # a Dask LocalCluster
def test_the_local_dask_cluster_keeps_patient_data_off_disk_and_the_network():
    import os
    from contextlib import ExitStack

    import dask
    import distributed  # noqa: F401 (its settings join dask.config when it is imported)
    import httpx
    import psutil

    from decision_aid.cohorts.on_dask import _connect

    with ExitStack() as stack:
        client = _connect("local", None, stack)
        assert client.scheduler.address.startswith("tcp://127.0.0.1:")
        assert all(address.startswith("tcp://127.0.0.1:") for address in client.nthreads())
        pids = {os.getpid(), *client.run(os.getpid).values()}
        listening = {c.laddr.ip for c in psutil.net_connections("inet") if c.status == "LISTEN" and c.pid in pids}
        assert listening == {"127.0.0.1"}
        dashboard = client.cluster.scheduler.http_server._sockets
        (port,) = {sock.getsockname()[1] for sock in dashboard.values()}
        assert httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200
        for page in ("status", "info/main/workers.html", "json/identity.json", "metrics"):
            assert httpx.get(f"http://127.0.0.1:{port}/{page}").status_code == 404  # no dashboard, no information
        spill = client.run(lambda: (dask.config.get("distributed.worker.memory.spill"),))
        assert set(spill.values()) == {(False,)}
        target = client.run(lambda dask_worker: dask_worker.memory_manager.memory_target_fraction)
        assert set(target.values()) == {False}


@pytest.mark.slow  # a Dask LocalCluster
def test_spilling_goes_only_to_the_folder_named(tmp_path):
    from contextlib import ExitStack

    from decision_aid.cohorts.on_dask import _connect

    with ExitStack() as stack:
        client = _connect("local", tmp_path, stack)
        folders = client.run(lambda dask_worker: dask_worker.local_directory)
        assert all(Path(folder).is_relative_to(tmp_path) for folder in folders.values())
        spill = client.run(lambda dask_worker: dask_worker.memory_manager.memory_spill_fraction)
        assert set(spill.values()) == {0.7}


@pytest.mark.slow  # a Dask LocalCluster
def test_an_existing_cluster_by_address_and_a_worker_killed_mid_run_retries_the_partition(cluster_address):
    import os
    import signal

    from distributed import Client

    rows = small_cohort(300)
    serial = list(run_cohort(rows, workers=1, explain=True))
    with Client(cluster_address) as client:
        pids = list(client.run(os.getpid).values())
    got = []
    for outcome in run_cohort(rows, dask=cluster_address, explain=True, chunk_rows=10):
        if not got:
            os.kill(pids[0], signal.SIGKILL)  # partitions are being assessed on both workers
        got.append(outcome)
    assert got == serial  # Dask ran the dead worker's partition again elsewhere


@pytest.mark.slow  # a Dask LocalCluster
def test_a_worker_that_keeps_dying_fails_the_run_clearly_and_writes_nothing(tmp_path):
    import os
    import signal

    import dask
    import distributed  # noqa: F401 (its settings join dask.config when it is imported)
    from distributed import Client, LocalCluster

    from decision_aid.cohorts.writers import write_parquet

    target = tmp_path / "out.parquet"
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        with LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
        ) as cluster:
            with Client(cluster) as client:
                pids = list(client.run(os.getpid).values())
            seen = []

            def kill_once(outcome):
                if not seen:
                    os.kill(pids[0], signal.SIGKILL)
                seen.append(outcome)

            outcomes = run_cohort(small_cohort(300), dask=cluster.scheduler_address, chunk_rows=10)
            with pytest.raises(
                runner.WorkerDied,
                match=r"a worker process died \(Dask gave up on a partition whose workers kept .*; rows \d+-304 were",
            ):
                write_parquet(outcomes, target, kill_once)
    assert 0 < len(seen) < 304
    assert list(tmp_path.iterdir()) == []  # no result file, complete-looking or not


@pytest.mark.slow  # a subprocess and a Dask LocalCluster
def test_batch_on_dask_writes_what_batch_writes(tmp_path):
    import subprocess
    import sys

    source = Path(__file__).resolve().parent / "data" / "random_patients_2000.jsonl"
    lines = source.read_bytes().splitlines(keepends=True)[:300]
    (tmp_path / "in.jsonl").write_bytes(b"".join(lines[:150]) + b"{bad\n" + b"".join(lines[150:]))
    runs = {}
    for name, options in (("pool", ["--workers", "2"]), ("dask", ["--dask", "local"])):
        out = tmp_path / f"{name}.jsonl"
        command = [sys.executable, "-m", "decision_aid", "batch", str(tmp_path / "in.jsonl"), "-o", str(out), *options]
        done = subprocess.run(command, capture_output=True, text=True, timeout=300)
        assert done.returncode == 2, done.stderr  # the bad line
        assert "assessed 300, invalid 1, failed 0" in done.stderr
        runs[name] = out.read_bytes()
    assert runs["dask"] == runs["pool"]
    assert json.loads(runs["dask"].splitlines()[150])["line"] == 151


@pytest.mark.slow  # imports distributed and waits for a connection
def test_a_dask_scheduler_that_cannot_be_reached_is_named_and_no_row_is_lost_silently(monkeypatch):
    from decision_aid.cohorts import on_dask

    monkeypatch.setattr(on_dask, "_CONNECT_SECONDS", 1)
    with pytest.raises(on_dask.DaskFailed, match=r"cannot reach the Dask scheduler at tcp://127.0.0.1:1: "):
        list(run_cohort(small_cohort(3), dask="tcp://127.0.0.1:1"))


@pytest.mark.slow  # a Dask LocalCluster
def test_local_dask_workers_start_without_a_fixed_malloc_trim_threshold(monkeypatch):
    """Dask's default MALLOC_TRIM_THRESHOLD_ makes durable-rules map and unmap memory on every pass
    (half of a worker's time in system calls): the workers of --dask local run without it."""
    import os
    from contextlib import ExitStack

    import dask
    import distributed  # noqa: F401 (its settings join dask.config when it is imported)

    from decision_aid.cohorts.on_dask import LOCAL, _connect

    assert "MALLOC_TRIM_THRESHOLD_" in dask.config.get("distributed.nanny.pre-spawn-environ")  # Dask's default
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "65536")  # as a Dask cluster started earlier in this process leaves it
    with ExitStack() as stack:
        client = _connect(LOCAL, None, stack)
        seen = client.run(lambda: (os.environ.get("MALLOC_TRIM_THRESHOLD_"), os.environ.get("OMP_NUM_THREADS")))
    assert len(seen) == 2
    assert set(seen.values()) == {(None, "1")}  # the other settings for new workers are kept
    assert os.environ["MALLOC_TRIM_THRESHOLD_"] == "65536"  # this process's environment as it was
