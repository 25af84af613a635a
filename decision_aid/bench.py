"""Benchmark: `python -m decision_aid.bench` prints every figure of the performance budget.

Measured in one run, over the shared example patients (when found) and seeded
random valid patients, on one warm process unless said otherwise:

- the compiled ruleset driven with no-op actions (the bare durable-rules cost);
- one engine pass through the wrapper (budget: median within 2x the bare cost);
- a full assess() with its missing information (budget: median < 10 ms, p99 < 30 ms);
- a Consultation rerun with "what would change it" (budget: < 200 ms): its computation,
  and the whole page script through Streamlit's AppTest when the app is installed;
- one patient handout PDF, made from an assessment already made, as the Consultation
  page's download does, over the examples and 60 random patients (budget: median < 0.5 s
  of CPU, which other work on the machine does not inflate as it does the time waited);
- a 10,000-patient batch on every core (budget: < 60 s);
- the cohort runner over 100,000 patients (`--cohort N`), locally and on a 2-worker Dask
  LocalCluster (budgets: at least 80 % of the batch figure; Dask within 30 % of local);
- `decision-aid assess` as a new process (budget: < 1 s);
- `decision-aid rules diff` over the default cohort, both jurisdictions (budget: < 60 s;
  decision_aid.governance.bench);
- a signed CDS Hooks `patient-view` call to `decision-aid serve-cds` on localhost, warm
  (budget: p50 < 20 ms, p99 < 50 ms; decision_aid.records.cds_bench).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import durable_rules_engine as dre

from decision_aid.engine.assessment import DecisionAid, default_aid
from decision_aid.engine.compiler import PATIENT, SCREEN, read_states, screen_fields
from decision_aid.samples import random_patients


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m decision_aid.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=2000, help="seeded random patients (default 2000)")
    parser.add_argument("--batch", type=int, default=10_000, help="patients in the batch run (default 10000)")
    parser.add_argument(
        "--handouts", type=int, default=60, help="random patients' handouts, besides the examples (default 60)"
    )
    parser.add_argument("--examples", type=Path, default=None, help="folder of example patient JSON files")
    parser.add_argument("--cds", type=int, default=1000, help="CDS Hooks patient-view calls (default 1000; 0: skip)")
    parser.add_argument(
        "--rules-diff", type=int, default=10_000, help="random patients in the rules diff's cohort (0: skip)"
    )
    parser.add_argument(
        "--cohort", type=int, default=100_000, help="patients in the cohort runner runs (default 100000; 0: skip)"
    )
    parser.add_argument("--seed", type=int, default=20261122)
    args = parser.parse_args(argv)

    aid = default_aid()
    examples = _examples(args.examples)
    patients = examples + random_patients(args.patients, seed=args.seed)
    print(f"decision_aid benchmark: knowledge {aid.knowledge.version}, {aid.engine.rule_count} compiled rules")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores; {len(examples)} examples + {args.patients} random")
    print()
    failures = 0

    facts = [aid.explain(p).facts for p in patients]
    bare = _bare_ms(aid, facts)
    one = _median_ms(aid.engine.run, facts)
    failures += _report("engine pass, bare durable-rules (no-op actions)", f"median {bare:.3f} ms")
    failures += _report(
        "engine pass through the wrapper", f"median {one:.3f} ms = {one / bare:.2f}x bare", one <= 2 * bare
    )

    fresh = DecisionAid(aid.knowledge)  # nothing remembered: each patient's passes all run
    times = sorted(_time_ms(fresh.assess, p) for p in patients)
    median, p99 = statistics.median(times), times[int(0.99 * (len(times) - 1))]
    failures += _report(
        "full assess() with missing information",
        f"median {median:.2f} ms, p99 {p99:.2f} ms, max {times[-1]:.2f} ms",
        median < 10 and p99 < 30,
    )

    median, p99 = _consultation_rerun(aid, patients)
    failures += _report(
        "Consultation rerun incl. what would change it", f"median {median:.1f} ms, p99 {p99:.1f} ms", p99 < 200
    )

    page = _page_rerun_ms(next(p for p in patients if not aid.assess(p).urgent_referral))
    if page is not None:
        failures += _report(
            "Consultation page rerun, whole script (AppTest)",
            f"median {page[0]:.0f} ms, max {page[1]:.0f} ms",
            page[0] < 200,
        )

    handout = _handout_seconds(aid, examples + random_patients(args.handouts, seed=args.seed + 2))
    failures += _report(
        f"patient handout PDF ({len(examples)} examples + {args.handouts} random)",
        f"median {handout[0]:.2f} s, max {handout[1]:.2f} s of CPU",
        handout[0] < 0.5,
    )

    seconds = _batch_seconds(args.batch, args.seed)
    failures += _report(
        f"batch of {args.batch:,} patients, all cores", f"{seconds:.1f} s ({args.batch / seconds:,.0f}/s)", seconds < 60
    )
    if args.cohort:
        from decision_aid.cohorts.bench import cohort_figures

        failures += cohort_figures(args.cohort, args.seed, args.batch / seconds, _report)

    cold = _cold_start_seconds(examples[0] if examples else random_patients(1, args.seed)[0])
    failures += _report("`decision-aid assess` cold start", f"median {cold:.2f} s", cold < 1)

    if args.cds:
        from decision_aid.records.cds_bench import patient_view_ms

        p50, p99 = patient_view_ms(args.cds)
        failures += _report(
            f"CDS Hooks patient-view call, localhost ({args.cds:,})",
            f"p50 {p50:.1f} ms, p99 {p99:.1f} ms (load average {os.getloadavg()[0]:.1f})",
            p50 < 20 and p99 < 50,
        )
    if args.rules_diff:
        from decision_aid.governance.bench import BUDGET_SECONDS, rules_diff_seconds

        seconds = rules_diff_seconds(args.rules_diff)
        failures += _report(
            f"rules diff, default cohort ({args.rules_diff:,} random)", f"{seconds:.1f} s", seconds < BUDGET_SECONDS
        )
    print()
    print("all within budget" if not failures else f"{failures} figure(s) over budget")
    return 1 if failures else 0


def _report(name: str, figure: str, ok: bool | None = None) -> int:
    verdict = "" if ok is None else ("  ok" if ok else "  OVER BUDGET")
    print(f"{name:<48} {figure}{verdict}")
    return 0 if ok in (None, True) else 1


def _examples(folder: Path | None) -> list[dict[str, Any]]:
    candidates = [folder] if folder else [Path("examples"), Path("../shared/examples")]
    for candidate in candidates:
        if candidate and candidate.is_dir():
            return [json.loads(p.read_text()) for p in sorted(candidate.glob("*.json"))]
    return []


def _time_ms(func: Callable[[Any], Any], arg: Any) -> float:
    start = time.perf_counter()
    func(arg)
    return (time.perf_counter() - start) * 1000


def _median_ms(func: Callable[[Any], Any], args: list[Any]) -> float:
    for arg in args[:50]:  # warm up
        func(arg)
    return statistics.median(_time_ms(func, a) for a in args)


def _bare_ms(aid: DecisionAid, patients_facts: list[dict[str, Any]]) -> float:
    """Median time of the same compiled ruleset with the same facts (every derived fact the
    real pass asserts included), driven straight through durable_rules_engine with actions
    that do nothing: the cost of durable-rules itself."""
    handle = dre.create_ruleset("decision_aid_bench_bare", json.dumps(aid.engine.definition))
    read = read_states(aid.knowledge)
    fact_lists = []
    for values in patients_facts:
        result = aid.engine.run(values)
        screen = {k: values[k] for k in screen_fields(aid.knowledge) if k in values}
        facts = [{"t": SCREEN, **screen}]
        if not result.urgent:
            facts.append({"t": PATIENT, **values})
            derived = [*result.findings.items(), *((t, "present") for t in sorted(result.tags))]
            facts += [{"t": "derived", "id": n, "state": s} for n, s in derived if (n, s) in read]
        fact_lists.append(facts)

    def bare(facts: list[dict[str, Any]]) -> None:
        try:
            for fact in facts:
                _, state = dre.assert_fact(handle, json.dumps({"sid": "bench", **fact}))
                started = dre.start_action_for_state(handle, state)
                message = started[1] if started else None
                while message:
                    message = dre.complete_and_start_action(handle, state)
        finally:
            dre.delete_state(handle, "bench")

    return _median_ms(bare, fact_lists)


def _consultation_rerun(aid: DecisionAid, patients: list[dict[str, Any]]) -> tuple[float, float]:
    """What the Consultation page computes on a rerun with a new patient: the assessment,
    its missing information and what would change each verdict (nothing remembered)."""
    from decision_aid.views.consultation import consult

    fresh = DecisionAid(aid.knowledge)
    times = sorted(_time_ms(lambda p: consult(p, fresh), p) for p in patients[:500])
    return statistics.median(times), times[int(0.99 * (len(times) - 1))]


def _page_rerun_ms(patient: dict[str, Any], reruns: int = 12) -> tuple[float, float] | None:
    """Server time of the Consultation page script after the clinician changes a factor and
    presses Assess: the form, the assessment, what would change it and every card. Measured
    with Streamlit's AppTest (no browser), so it includes the test harness's own overhead."""
    try:
        from streamlit.testing.v1 import AppTest
    except ImportError:  # the app's extra is not installed
        return None
    # AppTest runs the script without a browser session; Streamlit warns about that once.
    logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").setLevel(logging.ERROR)
    app = Path(__file__).resolve().parent.parent / "app.py"
    if not app.is_file():
        return None
    at = AppTest.from_file(str(app), default_timeout=60)
    at.run()
    for name, value in patient.items():  # typed in as a clinician would (yes/no for true/false)
        for kind in ("number_input", "selectbox", "radio"):
            widgets = [w for w in getattr(at, kind) if w.key == f"factor_{name}"]
            if widgets:
                widgets[0].set_value(("yes" if value else "no") if isinstance(value, bool) else value)
                break
    times = []
    first = at.number_input[0].value  # the form's first number changes on every rerun
    for i in range(reruns):
        at.number_input[0].set_value(first + i % 2)
        button = next(b for b in at.button if b.label == "Assess")
        start = time.perf_counter()
        button.click().run()
        times.append((time.perf_counter() - start) * 1000)
        if at.exception:
            raise SystemExit(f"the Consultation page failed: {at.exception}")
    return statistics.median(times[2:]), max(times[2:])


def _handout_seconds(aid: DecisionAid, patients: list[dict[str, Any]]) -> tuple[float, float]:
    """CPU time to make one handout PDF (its content and drawing) from an assessment already made,
    as the Consultation page's download button does, in a warm process: median and max."""
    from decision_aid.views.handout import build_handout
    from decision_aid.views.patient_view import view_of

    view = view_of(aid.knowledge)
    done = [aid.explain(p) for p in patients]
    build_handout(done[0].patient, view=view, assessment=done[0].assessment)  # warm up: fonts parsed once
    times = []
    for explained in done:
        start = time.process_time()
        build_handout(explained.patient, view=view, assessment=explained.assessment)
        times.append(time.process_time() - start)
    return statistics.median(times), max(times)


def _batch_seconds(count: int, seed: int) -> float:
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "patients.jsonl"
        source.write_text("".join(json.dumps(p) + "\n" for p in random_patients(count, seed=seed + 1)))
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "decision_aid", "batch", str(source), "-o", str(Path(folder) / "out.jsonl")],
            capture_output=True,
            text=True,
        )
        seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"batch failed ({done.returncode}): {done.stderr[-500:]}")
    return seconds


def _cold_start_seconds(patient: dict[str, Any]) -> float:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "patient.json"
        path.write_text(json.dumps(patient))
        command = [sys.executable, "-m", "decision_aid", "assess", str(path), "--format", "json"]
        runs = []
        for _ in range(5):
            start = time.perf_counter()
            subprocess.run(command, capture_output=True, check=True)
            runs.append(time.perf_counter() - start)
    return statistics.median(runs)


if __name__ == "__main__":
    sys.exit(main())
