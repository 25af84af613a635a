"""Interrupted and failing runs of the real command line: nothing overwritten, nothing half-written,
no worker process left behind, and a message that says how far the run got.

The checks made before any work (an input that cannot be read, an output over the input or in a
missing folder) run the command line in this process (tests/cli_support.py); the rest start it.

The signal tests start a batch big enough to be mid-run when the signal arrives: they wait for
its first progress line, send a real signal (SIGINT, SIGTERM, or SIGKILL to one worker), and then
check the exit code, the message, the files in the folder and the process table.
"""

from __future__ import annotations

import json
import os
import pty
import re
import resource
import select
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.cli_support import run_cli

DATA = Path(__file__).resolve().parent.parent / "examples"
FIXTURE = Path(__file__).resolve().parent / "data" / "random_patients_2000.jsonl"
PATIENT = DATA / "grade1-degenerative-stenosis.json"
CLI = [sys.executable, "-m", "decision_aid"]
PREVIOUS = b'{"previous": "results the user still needs"}\n'
TIMEOUT = 120  # a hang fails the test instead of blocking the suite; no assertion is about time


def big_batch(folder: Path, copies: int = 2) -> tuple[Path, int]:
    """The 2,000 frozen patients, `copies` times over: long enough to be mid-run when signalled."""
    lines = FIXTURE.read_bytes().splitlines(keepends=True) * copies
    source = folder / "patients.jsonl"
    source.write_bytes(b"".join(lines))
    return source, len(lines)


def start(*args: str, **popen) -> subprocess.Popen:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    # Unbuffered, so that reading up to a progress line leaves nothing unseen in a buffer.
    return subprocess.Popen([*CLI, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, bufsize=0, **popen)


def wait_for_progress(process: subprocess.Popen) -> bytes:
    """Read standard error until progress shows results written (the batch is then under way)."""
    seen = b""
    while not re.search(rb"\] [1-9]\d*/", seen):
        chunk = process.stderr.read(4096)
        assert chunk, f"the batch ended before any progress: {seen!r}"
        seen += chunk
    return seen


def children(pid: int) -> dict[int, str]:
    """Live child processes of `pid` (from /proc), with their command lines."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            found[int(entry.name)] = cmdline
    return found


def workers_of(pid: int) -> list[int]:
    return [child for child, cmdline in children(pid).items() if "spawn_main" in cmdline]


def running(pid: int) -> bool:
    """Whether a process exists and is not a zombie (an ended process not yet reaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def finish(process: subprocess.Popen, seen: bytes = b"") -> tuple[int, str]:
    _, rest = process.communicate(timeout=TIMEOUT)
    return process.returncode, (seen + rest).decode()


def assert_only(folder: Path, *names: str) -> None:
    """No temporary file or other leftover beside the files expected."""
    assert sorted(p.name for p in folder.iterdir()) == sorted(names)


def interrupted_run(tmp_path: Path, signum: int, *options: str, group: bool = False) -> tuple[int, str, int, list]:
    """A batch over an existing output file, sent `signum` once under way."""
    source, total = big_batch(tmp_path)
    out = tmp_path / "out.jsonl"
    out.write_bytes(PREVIOUS)
    process = start("batch", str(source), "-o", str(out), "--workers", "2", *options, start_new_session=group)
    seen = wait_for_progress(process)
    workers = workers_of(process.pid)
    assert len(workers) == 2
    if group:  # Ctrl-C in a terminal reaches every process of the group
        os.killpg(process.pid, signum)
    else:
        os.kill(process.pid, signum)
    code, stderr = finish(process, seen)
    return code, stderr, total, workers


@pytest.mark.slow  # process pool or signals
@pytest.mark.parametrize("group", [False, True], ids=["main-process", "process-group"])
def test_ctrl_c_leaves_the_previous_output_and_no_worker(tmp_path, group):
    code, stderr, total, workers = interrupted_run(tmp_path, signal.SIGINT, group=group)
    assert code == 1, stderr
    message = re.search(rf"^interrupted after ([\d,]+) of {total:,} lines; (.*)$", stderr, re.MULTILINE)
    assert message, stderr  # on a line of its own, not glued to the progress line
    assert int(message[1].replace(",", "")) < total
    assert f"{tmp_path / 'out.jsonl'} was not written (its previous content is unchanged)" in message[2]
    assert "Traceback" not in stderr
    assert (tmp_path / "out.jsonl").read_bytes() == PREVIOUS
    assert_only(tmp_path, "patients.jsonl", "out.jsonl")
    assert not [pid for pid in workers if running(pid)]


@pytest.mark.slow  # process pool or signals
def test_sigterm_is_handled_like_ctrl_c_and_ends_the_workers(tmp_path):
    code, stderr, total, workers = interrupted_run(tmp_path, signal.SIGTERM)
    assert code == 1, stderr  # not 143, killed without a word
    assert re.search(rf"^terminated after [\d,]+ of {total:,} lines; ", stderr, re.MULTILINE), stderr
    assert "was not written (its previous content is unchanged)" in stderr
    assert (tmp_path / "out.jsonl").read_bytes() == PREVIOUS
    assert_only(tmp_path, "patients.jsonl", "out.jsonl")
    assert not [pid for pid in workers if running(pid)]  # none left blocked forever


@pytest.mark.slow  # process pool or signals
def test_keep_partial_keeps_the_complete_lines_so_far_under_another_name(tmp_path):
    from decision_aid import assess

    old_umask = os.umask(0o027)
    try:
        code, stderr, total, workers = interrupted_run(tmp_path, signal.SIGTERM, "--keep-partial")
    finally:
        os.umask(old_umask)
    assert code == 1, stderr
    partial = tmp_path / "out.jsonl.partial"
    kept = re.search(rf"the results of the first ([\d,]+) lines are in {re.escape(str(partial))}", stderr)
    assert kept, stderr
    assert (tmp_path / "out.jsonl").read_bytes() == PREVIOUS
    assert_only(tmp_path, "patients.jsonl", "out.jsonl", "out.jsonl.partial")
    rows = partial.read_bytes().split(b"\n")
    assert rows.pop() == b""  # ends with a complete line
    assert len(rows) == int(kept[1].replace(",", "")) < total
    patients = FIXTURE.read_bytes().splitlines()
    for n in (0, len(rows) - 1):  # in order, from the first line
        assert rows[n].decode() == assess(patients[n % len(patients)]).model_dump_json()
    assert partial.stat().st_mode & 0o777 == 0o640  # the umask's usual permissions, not mkstemp's 0600
    assert not [pid for pid in workers if running(pid)]


@pytest.mark.slow  # process pool or signals
def test_a_killed_worker_is_reported_as_a_dead_worker_naming_the_lines(tmp_path):
    source, total = big_batch(tmp_path)
    out = tmp_path / "out.jsonl"
    out.write_bytes(PREVIOUS)
    process = start("batch", str(source), "-o", str(out), "--workers", "2")
    seen = wait_for_progress(process)
    workers = workers_of(process.pid)
    os.kill(workers[0], signal.SIGKILL)
    code, stderr = finish(process, seen)
    assert code == 1, stderr
    died = re.search(
        r"^a worker process died \(killed by signal 9\); lines ([\d,]+)-([\d,]+) were not assessed", stderr, re.M
    )
    assert died, stderr
    assert int(died[1].replace(",", "")) > 1 and died[2] == f"{total:,}"
    assert "internal error" not in stderr and "please report" not in stderr
    assert out.read_bytes() == PREVIOUS
    assert_only(tmp_path, "patients.jsonl", "out.jsonl")
    assert not [pid for pid in workers if running(pid)]


@pytest.mark.slow  # process pool or signals
def test_workers_end_with_a_main_process_killed_outright(tmp_path):
    """SIGKILL cannot be handled; the workers still do not wait for work forever."""
    source, total = big_batch(tmp_path)
    out = tmp_path / "out.jsonl"
    out.write_bytes(PREVIOUS)
    process = start("batch", str(source), "-o", str(out), "--workers", "2")
    wait_for_progress(process)
    workers = workers_of(process.pid)
    assert len(workers) == 2
    process.kill()
    finish(process)  # standard error reaches its end once no worker holds it open
    assert not [pid for pid in workers if running(pid)]
    assert out.read_bytes() == PREVIOUS


def _file_size_limit(limit: int):
    """For the child: files may grow to `limit` bytes only, as on a full disk (EFBIG, not a signal)."""

    def limit_files() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return limit_files


@pytest.mark.slow  # process pool or signals
def test_a_write_error_mid_batch_leaves_the_previous_output(tmp_path):
    lines = FIXTURE.read_bytes().splitlines(keepends=True)[:300]
    source = tmp_path / "patients.jsonl"
    source.write_bytes(b"".join(lines))
    out = tmp_path / "out.jsonl"
    out.write_bytes(PREVIOUS)
    process = start("batch", str(source), "-o", str(out), "--workers", "2", preexec_fn=_file_size_limit(1_000_000))
    code, stderr = finish(process)
    assert code == 1, stderr
    assert re.search(rf"^stopped after [\d,]+ of 300 lines: could not write {re.escape(str(out))}: ", stderr, re.M)
    assert "was not written (its previous content is unchanged)" in stderr
    assert out.read_bytes() == PREVIOUS
    assert_only(tmp_path, "patients.jsonl", "out.jsonl")


@pytest.mark.slow  # a file-size limit in a child process, like the batch's write error above
def test_a_handout_that_cannot_be_written_whole_leaves_the_previous_pdf(tmp_path):
    out = tmp_path / "handout.pdf"
    out.write_bytes(b"%PDF-1.4 the previous, good handout")
    process = start("handout", str(PATIENT), "-o", str(out), preexec_fn=_file_size_limit(10_000))
    code, stderr = finish(process)
    assert code == 1, stderr
    assert f"could not write {out}" in stderr and "its previous content is unchanged" in stderr
    assert out.read_bytes() == b"%PDF-1.4 the previous, good handout"
    assert_only(tmp_path, "handout.pdf")


def test_write_handout_replaces_a_file_only_when_complete(tmp_path, monkeypatch):
    from decision_aid.views import handout

    target = tmp_path / "handout.pdf"
    target.write_bytes(b"previous")
    monkeypatch.setattr(handout, "build_handout", lambda *args: b"%PDF new")
    real_fsync = os.fsync

    def interrupted(fd: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        handout.write_handout(PATIENT.read_bytes(), target)
    assert target.read_bytes() == b"previous"
    assert_only(tmp_path, "handout.pdf")
    monkeypatch.setattr(os, "fsync", real_fsync)
    handout.write_handout(PATIENT.read_bytes(), target)
    assert target.read_bytes() == b"%PDF new"
    assert_only(tmp_path, "handout.pdf")


@pytest.mark.parametrize("how", ["same path", "symlink", "hard link", "standard input"])
def test_batch_refuses_to_write_over_its_own_input(tmp_path, how, capfdbinary):
    source = tmp_path / "patients.jsonl"
    content = PATIENT.read_bytes().replace(b"\n", b"") + b"\n"
    source.write_bytes(content)
    output = tmp_path / "out.jsonl"
    if how == "symlink":
        output.symlink_to(source)
    elif how == "hard link":
        os.link(source, output)
    else:
        output = source
    given = "-" if how == "standard input" else str(source)
    args = ["batch", given, "-o", str(output)]
    with open(source, "rb") as stdin:
        done = run_cli(capfdbinary, *args, stdin=stdin)
    assert done.returncode == 1, done.stderr
    assert str(output) in done.stderr
    assert (str(source) if how != "standard input" else "standard input") in done.stderr
    assert source.read_bytes() == content
    assert done.stdout == ""


def test_handout_refuses_to_write_over_its_own_input(tmp_path, capfdbinary):
    source = tmp_path / "patient.json"
    source.write_bytes(PATIENT.read_bytes())
    link = tmp_path / "handout.pdf"
    link.symlink_to(source)
    done = run_cli(capfdbinary, "handout", str(source), "-o", str(link))
    assert done.returncode == 1, done.stderr
    assert str(link) in done.stderr and str(source) in done.stderr
    assert source.read_bytes() == PATIENT.read_bytes()


@pytest.mark.slow  # process pool or signals
def test_batch_progress_off_a_terminal_is_whole_lines_and_messages_stand_alone(tmp_path):
    lines = FIXTURE.read_bytes().splitlines(keepends=True)[:300]
    source = tmp_path / "patients.jsonl"
    source.write_bytes(b"".join(lines) + b"{bad json\n")
    out = tmp_path / "out.jsonl"
    old_umask = os.umask(0o027)
    try:
        done = subprocess.run(
            [*CLI, "batch", str(source), "-o", str(out), "--workers", "2"], capture_output=True, timeout=TIMEOUT
        )
    finally:
        os.umask(old_umask)
    stderr = done.stderr.decode()
    assert done.returncode == 2, stderr
    assert "\r" not in stderr  # a log file gets no redraws
    progress = [line for line in stderr.splitlines() if line.startswith("[")]
    assert 1 <= len(progress) <= 11 and progress[-1].startswith("[" + "#" * 30 + "] 301/301")
    assert "assessed 300, invalid 1, failed 0" in stderr.splitlines()
    assert out.stat().st_mode & 0o777 == 0o640  # the umask's usual permissions, not mkstemp's 0600
    assert len(out.read_bytes().splitlines()) == 301
    assert_only(tmp_path, "patients.jsonl", "out.jsonl")


@pytest.mark.slow  # process pool or signals
def test_on_a_terminal_the_interrupt_message_starts_its_own_line(tmp_path):
    source, total = big_batch(tmp_path)
    out = tmp_path / "out.jsonl"
    leader, follower = pty.openpty()
    try:
        process = subprocess.Popen(
            [*CLI, "batch", str(source), "-o", str(out), "--workers", "2"],
            stdout=subprocess.DEVNULL,
            stderr=follower,
        )
    finally:
        os.close(follower)
    seen = b""
    try:
        while not re.search(rb"\] [1-9]\d*/", seen):  # the progress bar is being redrawn
            seen += read_terminal(leader)
        os.kill(process.pid, signal.SIGINT)
        while chunk := read_terminal(leader):
            seen += chunk
    finally:
        os.close(leader)
    assert process.wait(timeout=TIMEOUT) == 1
    text = seen.decode().replace("\r\n", "\n")
    assert re.search(rf"\r\[[#.]+\] \d+/{total} [^\r\n]*\ninterrupted after ", text), text[-500:]
    assert not out.exists()
    assert_only(tmp_path, "patients.jsonl")


def read_terminal(leader: int) -> bytes:
    """What the program wrote to its terminal since the last read; b"" once it has closed it."""
    ready, _, _ = select.select([leader], [], [], TIMEOUT)
    assert ready, "the program wrote nothing for a long time"
    try:
        return os.read(leader, 4096)
    except OSError:  # EIO: the program has ended and closed the terminal
        return b""


def test_an_interrupt_before_a_pass_asserts_anything_stays_an_interrupt(monkeypatch):
    """It came out as `durable_rules_engine.error ... 309` (no session to delete), hiding the Ctrl-C."""
    from decision_aid import assess
    from decision_aid.engine import durable as engine

    patient = json.loads(PATIENT.read_text())
    assess(patient)
    real = engine.fact_json

    def interrupted(fact):
        raise KeyboardInterrupt

    monkeypatch.setattr(engine, "fact_json", interrupted)
    with pytest.raises(KeyboardInterrupt):
        assess(patient)
    monkeypatch.setattr(engine, "fact_json", real)
    assert assess(patient).options["decompression_alone"].verdict == "worth_discussing"


@pytest.mark.slow  # process pool or signals
def test_random_interrupts_during_passes_surface_only_as_interrupts():
    """Ctrl-C at random moments in thousands of passes: each pass either completes or raises
    KeyboardInterrupt, and the interpreter survives (a subprocess, so a crash is seen)."""
    script = textwrap.dedent(
        f"""
        import collections, json, random, signal
        from decision_aid import assess
        patients = [json.loads(line) for line in open({str(FIXTURE)!r}, "rb").read().splitlines()[:200]]
        assess(patients[0])
        seen = collections.Counter()
        def interrupt(*args):
            raise KeyboardInterrupt
        signal.signal(signal.SIGALRM, interrupt)
        rng = random.Random(7)
        for n in range(2000):
            try:
                signal.setitimer(signal.ITIMER_REAL, rng.uniform(0.00001, 0.0015))
                assess(patients[n % 200])
                signal.setitimer(signal.ITIMER_REAL, 0)
                seen["ok"] += 1
            except KeyboardInterrupt:
                signal.setitimer(signal.ITIMER_REAL, 0)
                seen["interrupted"] += 1
            except BaseException as error:
                signal.setitimer(signal.ITIMER_REAL, 0)
                seen[repr(error)[:120]] += 1
        print(json.dumps(seen))
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr[-2000:]
    seen = json.loads(done.stdout)
    assert set(seen) <= {"ok", "interrupted"}, seen
    assert seen.get("ok") and seen.get("interrupted")


@pytest.mark.parametrize("command", ["assess", "batch", "handout"])
def test_a_missing_or_unreadable_input_exits_2_naming_it(tmp_path, command, capfdbinary):
    extra = ["-o", str(tmp_path / "out.pdf")] if command == "handout" else []
    for source in (tmp_path / "missing.json", tmp_path):
        done = run_cli(capfdbinary, command, str(source), *extra)
        assert done.returncode == 2, done.stderr
        assert done.stderr.startswith(f"error: cannot read {source}: ") and done.stderr.count("\n") == 1
        assert "Traceback" not in done.stderr


@pytest.mark.parametrize("command", ["batch", "handout"])
def test_an_output_folder_that_does_not_exist_exits_1_naming_it(tmp_path, command, capfdbinary):
    source = tmp_path / "patient.jsonl"
    source.write_bytes(PATIENT.read_bytes().replace(b"\n", b"") + b"\n")
    out = tmp_path / "no such folder" / "out"
    done = run_cli(capfdbinary, command, str(source), "-o", str(out))
    assert done.returncode == 1, done.stderr
    assert f"cannot write {out}: the folder {out.parent} does not exist" in done.stderr
    assert_only(tmp_path, "patient.jsonl")
