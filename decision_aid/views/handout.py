"""The patient handout: what a patient takes home, as a one-to-three page PDF.

This is the handout's public edge. `build_handout` and `write_handout` take a
patient; where the caller has already assessed them (the Consultation page, the
command line), it passes that `assessment` with the knowledge it used (`aid`,
`view`) and nothing is assessed again. Otherwise the patient is assessed once,
here, with the process-wide DecisionAid. What the handout says is composed by
decision_aid.views.handout_content and drawn by decision_aid.views.handout_pdf. The PDF is
written only where the caller asks; with `created` fixed the bytes are identical
from run to run.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from decision_aid.engine.assessment import DecisionAid, default_aid
from decision_aid.models import Assessment, PatientFactors, parse_factors
from decision_aid.views.handout_content import Handout, compose
from decision_aid.views.patient_view import PatientView, view_of


def handout_content(
    factors: PatientFactors | dict[str, Any] | str | bytes,
    values: dict[str, int] | None = None,
    created: datetime | None = None,
    aid: DecisionAid | None = None,
    view: PatientView | None = None,
    assessment: Assessment | None = None,
) -> Handout:
    """What the handout says, section by section (render with decision_aid.views.handout_pdf.render).

    Raises InputError for invalid factors or values. `assessment`: the patient's, where the
    caller has it; `aid` and `view`: the knowledge to use (by default the process-wide
    DecisionAid and the patient view beside its knowledge).
    """
    patient = parse_factors(factors)
    if view is None or assessment is None:
        aid = aid or default_aid()
        if view is None:
            view = view_of(aid.knowledge)
        if assessment is None:
            assessment = aid.assess(patient)
    return compose(view, patient, assessment, values, created)


def build_handout(
    factors: PatientFactors | dict[str, Any] | str | bytes,
    values: dict[str, int] | None = None,
    created: datetime | None = None,
    aid: DecisionAid | None = None,
    view: PatientView | None = None,
    assessment: Assessment | None = None,
) -> bytes:
    """The handout PDF for one patient. Raises InputError for invalid factors or values.

    `values` rates what matters to the patient (ids and scale in
    rules/patient_view/values.yaml); they are shown, never used for a verdict. The other
    arguments are those of `handout_content`.
    """
    from decision_aid.views.handout_pdf import render  # fpdf2 is needed only to draw

    return render(handout_content(factors, values, created, aid, view, assessment))


def write_handout(
    text_or_factors: PatientFactors | dict[str, Any] | str | bytes,
    path: Path | str,
    values: dict[str, int] | None = None,
    created: datetime | None = None,
    aid: DecisionAid | None = None,
    view: PatientView | None = None,
    assessment: Assessment | None = None,
) -> None:
    """Write the handout PDF to `path` (the only file it touches), whole or not at all.

    The PDF goes to a temporary file beside `path`, renamed into place only when
    complete: if writing fails or is interrupted, an existing file keeps its content.
    """
    from decision_aid.atomic_file import AtomicFile

    pdf = build_handout(text_or_factors, values, created, aid, view, assessment)
    with AtomicFile(path) as out:
        out.write(pdf)
