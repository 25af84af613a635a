"""The durable-rules wrapper: serialised access, sessions always deleted, errors raised."""

import random
import threading

import pytest

from decision_aid import EngineError
from decision_aid.engine.durable import Engine
from decision_aid.samples import random_patients
from tests.conftest import variant

# The shared base patient's variant with every field given a value (tests/conftest.py).
FULLY_KNOWN = variant("fully_known")


def rss_kib() -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))


@pytest.mark.slow
def test_eight_threads_give_the_same_answers_as_serial(aid):
    patients = random_patients(500, seed=8)
    serial = [aid.assess(p).model_dump_json() for p in patients]
    results: dict[int, list[str]] = {}
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        order = list(range(len(patients)))
        random.Random(n).shuffle(order)
        out = [""] * len(patients)
        try:
            for i in order:
                out[i] = aid.assess(patients[i]).model_dump_json()
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)
        results[n] = out

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert all(results[n] == serial for n in range(8))


@pytest.mark.slow
def test_twenty_thousand_assessments_stay_under_the_session_limit_with_flat_memory(aid):
    patients = [
        FULLY_KNOWN,
        {**FULLY_KNOWN, "slip_grade": 2, "translation_mm": 4.0},
        {**FULLY_KNOWN, "cauda_equina_syndrome": True},
    ]
    for i in range(1000):  # warm up caches and allocator
        aid.assess(patients[i % 3])
    before = rss_kib()
    for i in range(20_000):  # far past durable-rules' 1,024 live sessions
        aid.assess(patients[i % 3])
    growth_mib = (rss_kib() - before) / 1024
    assert growth_mib < 16, f"memory grew by {growth_mib:.1f} MiB over 20,000 assessments"


def test_an_error_inside_an_action_is_raised_and_its_session_deleted(aid, monkeypatch):
    engine = Engine(aid.knowledge)
    values = {k: v for k, v in FULLY_KNOWN.items()}

    def broken(record, action):
        raise RuntimeError("boom")

    monkeypatch.setattr(engine, "_act", broken)
    for _ in range(1100):  # a leaked session each time would pass the 1,024 limit
        with pytest.raises(EngineError, match="boom"):
            engine.run(values)
    monkeypatch.undo()
    assert engine.run(values).fired  # the engine still works


def test_red_flags_short_circuit_before_any_elective_rule(aid):
    result = aid.engine.run({**FULLY_KNOWN, "suspected_tumour": True, "motor_deficit": "progressive"})
    assert result.red_flags == ("red-flag.progressive-motor-deficit", "red-flag.tumour")
    assert result.fired == () and result.findings == {}


def test_every_finding_gets_exactly_one_state_each_pass(aid):
    for patient in random_patients(200, seed=3):
        result = aid.engine.run(aid.explain(patient).facts)
        if not result.urgent:
            assert set(result.findings) == {c.spec.id for c in aid.knowledge.findings}


def test_tiny_and_negative_zero_measurements_are_assessed_not_crashed(aid):
    """durable-rules cannot parse exponent notation; such values once segfaulted the process."""
    for value in (1e-05, 5e-324, -0.0, 2.9999999999999996):
        patient = {**FULLY_KNOWN, "translation_mm": abs(value), "bone_density_t_score": -value}
        result = aid.engine.run(aid.explain(patient).facts)
        assert result.findings["dynamic_instability"] == "absent"
    assert aid.engine.run({**FULLY_KNOWN, "translation_mm": 3.0}).findings["dynamic_instability"] == "present"
