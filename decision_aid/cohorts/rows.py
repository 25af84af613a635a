"""The cohort runner's two records: a row in (`CohortRow`) and its result out (`Outcome`).

An Outcome crosses a process boundary (a pool worker, a Dask worker) as its assessment's
JSON text, never as the pydantic object (cheaper to send, and what a JSONL writer needs):
`assessment` parses that text on first use and `json` dumps the object on first use, so
either side holds the same result, byte for byte the assessment's `model_dump_json()`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from decision_aid.models import Assessment


@dataclass(frozen=True, slots=True)
class CohortRow:
    """One patient of a cohort.

    `patient` is the factors as a JSON object (a dict) or its JSON text (bytes, as a batch
    line). `problems` are what reading the row found wrong (a cell of the wrong type): such a
    row is reported with them and never assessed. `where` ("row N" for a CSV or Parquet row) is
    added to every problem the contract then finds in the row, as reading adds it to its own.
    """

    id: str
    performed: str | None
    patient: dict[str, Any] | bytes
    problems: tuple[str, ...] = ()
    where: str = ""


class Outcome:
    """One row's result: its assessment, or the problems that kept it from being assessed.

    `problems` name the field (column) and say what is wrong; `failed` marks a problem that is
    a bug rather than bad input. `fired` is, when the run was asked to explain, the ids of the
    red flags and rules that fired in the patient's engine pass (red flags first, then rules in
    firing order; the missing-information search's passes are not included). `row` is the
    row's position in the cohort, counted from 1.
    """

    __slots__ = ("id", "performed", "problems", "fired", "failed", "row", "_assessment", "_json")

    def __init__(
        self,
        id: str,
        performed: str | None,
        assessment: Assessment | None = None,
        problems: list[str] | None = None,
        fired: tuple[str, ...] | None = None,
        *,
        json: str | None = None,
        failed: bool = False,
        row: int = 0,
    ):
        self.id = id
        self.performed = performed
        self.problems = list(problems or [])
        self.fired = fired
        self.failed = failed
        self.row = row
        self._assessment = assessment
        self._json = json

    @property
    def assessment(self) -> Assessment | None:
        if self._assessment is None and self._json is not None:
            from decision_aid.models import Assessment

            self._assessment = Assessment.model_validate_json(self._json)
        return self._assessment

    @property
    def json(self) -> str | None:
        """The assessment as JSON text (exactly its model_dump_json()), or None."""
        if self._json is None and self._assessment is not None:
            self._json = self._assessment.model_dump_json()
        return self._json

    @property
    def ok(self) -> bool:
        """Assessed (no problem)."""
        return not self.problems

    def __getstate__(self) -> tuple[Any, ...]:
        return (self.id, self.performed, self.problems, self.fired, self.failed, self.row, self.json)

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        self.id, self.performed, self.problems, self.fired, self.failed, self.row, self._json = state
        self._assessment = None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Outcome):
            return NotImplemented
        return self.__getstate__() == other.__getstate__()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        what = f"problems={self.problems!r}" if self.problems else "assessed"
        return f"Outcome(id={self.id!r}, row={self.row}, {what})"
