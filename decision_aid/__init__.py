"""decision_aid: a rule-based decision aid for lumbar spine surgery.

A discussion aid for clinicians and patients, never an order.
"""

from decision_aid.engine.assessment import DecisionAid, assess, default_aid
from decision_aid.errors import DecisionAidError, EngineError, InputError, KnowledgeError
from decision_aid.models import OPTIONS, Assessment, PatientFactors

__all__ = [
    "OPTIONS",
    "Assessment",
    "DecisionAid",
    "DecisionAidError",
    "EngineError",
    "InputError",
    "KnowledgeError",
    "PatientFactors",
    "assess",
    "default_aid",
]
