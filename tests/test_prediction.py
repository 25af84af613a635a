"""The Python reading of the rules (used to skip what-if passes) agrees with the engine."""

import pytest
from hypothesis import HealthCheck, given, settings

from decision_aid import default_aid
from decision_aid.engine.missing import predict_verdicts
from decision_aid.knowledge.reading import derive_states
from decision_aid.samples import random_patients
from tests.strategies import patients

# Each condition is proved equal to durable-rules on its whole grid by tests/test_agreement.py (in the
# quick set); these whole patients check how the readings combine, so 100 generated ones are enough.
pytestmark = pytest.mark.slow

aid = default_aid()


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(patients(red_flags=None))
def test_predicted_verdicts_and_findings_equal_the_engines(patient):
    values = aid.explain(patient).facts
    result = aid.engine.run(values)
    assert predict_verdicts(aid.knowledge, values) == aid.verdicts(values)
    if not result.urgent:
        assert derive_states(aid.knowledge, values) == result.findings


def test_prediction_agrees_on_every_threshold_neighbour():
    """Each sample patient with each nullable field set to each candidate value."""
    candidates = aid.dependencies.candidates
    for patient in random_patients(40, seed=99):
        values = aid.explain(patient).facts
        for name, options in candidates.items():
            for value in options:
                trial = {**values, name: value}
                if name == "months_since_fusion" and values.get("prior_fusion", "none") == "none":
                    continue
                assert predict_verdicts(aid.knowledge, trial) == aid.verdicts(trial), (name, value)
