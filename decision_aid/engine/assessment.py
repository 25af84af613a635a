"""assess(): a patient's factors in, an explained verdict for every option out."""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass
from typing import Any

from decision_aid.engine import missing as _missing
from decision_aid.engine import verdicts as aggregation
from decision_aid.engine.durable import Engine, PassResult
from decision_aid.knowledge import loader as kb
from decision_aid.knowledge.labels import describe_condition
from decision_aid.models import (
    Alert,
    Assessment,
    Finding,
    PatientFactors,
    parse_factors,
    parse_jurisdiction,
)


class DecisionAid:
    """The knowledge compiled into an engine, with everything derived from it once."""

    def __init__(self, knowledge: kb.Knowledge | None = None):
        self.knowledge = knowledge or kb.load()
        self.engine = Engine(self.knowledge)
        self.dependencies = _missing.Dependencies(self.knowledge)
        self._finding_texts: dict[tuple[str, str], str] = {}
        # What-if searches (missing information, what would change it, Explore) and app
        # reruns ask about the same values again and again; a pass is ~1 ms, a lookup ~10 µs.
        self._verdicts_of = functools.lru_cache(maxsize=4096)(self._run_verdicts)

    def verdicts(self, values: dict[str, Any], jurisdiction: str | None = None) -> dict[str, str]:
        """option -> verdict for known values (one engine pass, remembered): for what-if searches.

        The jurisdiction is `jurisdiction` if given, else the one among `values` (an explained
        assessment's facts carry it), else the default; it is part of what is remembered.
        """
        facts = dict(values)
        if jurisdiction is not None or "jurisdiction" not in facts:
            facts["jurisdiction"] = parse_jurisdiction(jurisdiction)
        return dict(self._verdicts_of(tuple(sorted(facts.items()))))

    def _run_verdicts(self, items: tuple[tuple[str, Any], ...]) -> tuple[tuple[str, str], ...]:
        return tuple(aggregation.verdicts_only(self.knowledge, self.engine.run(dict(items))).items())

    def assess(
        self, factors: PatientFactors | dict[str, Any] | str | bytes, jurisdiction: str | None = None
    ) -> Assessment:
        """The assessment under `jurisdiction` ('uk', the default, or 'us')."""
        return self.explain(factors, jurisdiction).assessment

    def explain(
        self,
        factors: PatientFactors | dict[str, Any] | str | bytes,
        jurisdiction: str | None = None,
        *,
        missing: bool = True,
    ) -> Explained:
        """The assessment with its reasoning trace (facts, findings, rules fired).

        `jurisdiction`: 'uk' (None means it, the default) or 'us'; anything else raises InputError
        naming `jurisdiction`. It joins the engine's facts; missing information never varies it.
        `missing=False` skips the missing-information search (most of an assessment's time): the
        assessment's `missing_information` is then empty, everything else is as with it.
        """
        where = parse_jurisdiction(jurisdiction)
        patient = parse_factors(factors)
        values = {**patient.known_values(), "jurisdiction": where}
        result = self.engine.run(values)
        options = aggregation.decide(self.knowledge, result, where)
        missing_info, passes = [], 0
        if missing:
            missing_info, passes = _missing.search(
                self.dependencies,
                values,
                result,
                {o: r.verdict for o, r in options.items()},
                aggregation.fired_for(self.knowledge, result),
                self.verdicts,
            )
        assessment = Assessment(
            urgent_referral=result.urgent,
            alerts=self._alerts(result, where),
            options=options,
            findings=self._findings(result),
            missing_information=missing_info,
            knowledge_version=self.knowledge.version,
            jurisdiction=where,
        )
        return Explained(patient, values, result, assessment, passes)

    def _alerts(self, result: PassResult, jurisdiction: str) -> list[Alert]:
        flags = [self.knowledge.by_id[f].spec.in_(jurisdiction) for f in result.red_flags]
        return sorted((Alert(code=f.alert_code, message=f.alert) for f in flags), key=lambda a: a.code)

    def _findings(self, result: PassResult) -> list[Finding]:
        return [
            Finding(id=finding_id, state=state, explanation=self._finding_text(finding_id, state))
            for finding_id, state in sorted(result.findings.items())
        ]

    def _finding_text(self, finding_id: str, state: str) -> str:
        key = (finding_id, state)
        if key not in self._finding_texts:
            c = self.knowledge.by_id[finding_id]
            because = describe_condition(c.states[state])
            self._finding_texts[key] = f"{c.spec.label.capitalize()} is {state}: {because}. {c.spec.explanation}"
        return self._finding_texts[key]


@dataclass(frozen=True)
class Explained:
    """An assessment with what produced it."""

    patient: PatientFactors
    facts: dict[str, Any]  # what the engine was given: the known factors and the jurisdiction
    result: PassResult
    assessment: Assessment
    missing_passes: int


_default: DecisionAid | None = None
_default_lock = threading.Lock()


def default_aid() -> DecisionAid:
    """The process-wide DecisionAid, built once on first use (thread-safe)."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = DecisionAid()
    return _default


def assess(factors: PatientFactors | dict[str, Any] | str | bytes, jurisdiction: str | None = None) -> Assessment:
    """Assess one patient with the knowledge base in rules/, under `jurisdiction` ('uk', the default, or 'us').

    Raises InputError (naming each bad field, or `jurisdiction`) for invalid factors or jurisdiction.
    """
    return default_aid().assess(factors, jurisdiction)
