"""What an imported FHIR record shows: the text and JSON of `decision-aid assess --fhir`, and the
one-line words for a provenance, a skipped resource and a conflict that the app reuses.

JSON output (one object, keys in this order): `assessment` (the contract's assessment
object, or null while answers are still needed), `filled` (field -> value from the record),
`provenance` (field -> {resource_type, resource_id, system, code, display, date}),
`skipped` ([{resource_type, resource_id, system, code, display, reason}]), `conflicts`
([{field, values: [{value, provenance}]}]), `needed` (the fields still needing an answer,
in the contract's order), `red_flags` (red-flag fields the record codes as present),
`red_flag_alerts` ([{id, label, alert, fields}]: the knowledge base's alert for each red flag
the record raises, as the CDS critical card gives it), `has_lumbar_diagnosis` and `as_of`.
The text shows the same alerts right after the red flags, before the answers still needed.
Nothing is written anywhere but standard output and standard error.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from decision_aid.errors import InputError, InputProblem
from decision_aid.json_text import read_json, show
from decision_aid.knowledge.labels import field_label, show_value
from decision_aid.knowledge.loader import Knowledge
from decision_aid.records.fhir_import import (
    MAX_FILE_BUNDLE_BYTES,
    Conflict,
    ImportedRecord,
    Provenance,
    import_bundle,
)


def as_of_date(text: str) -> dt.date:
    """The --as-of option: a calendar date YYYY-MM-DD (a usage error otherwise)."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {show(text)}") from None


def assess_record(args: argparse.Namespace, read: Callable[[str], bytes]) -> int:
    """`decision-aid assess --fhir BUNDLE [--answers FILE] [--as-of DATE]`: exit 0 assessed; InputError
    (exit 2, one line per field) when the bundle is invalid or answers are still needed."""
    from decision_aid.engine.assessment import assess, default_aid
    from decision_aid.views.summary import summary

    record = import_bundle(read(args.fhir), as_of=args.as_of, limit=MAX_FILE_BUNDLE_BYTES)
    alerts = red_flag_alerts(record, default_aid().knowledge, args.jurisdiction)
    answers: Any = {}
    if args.answers is not None:
        answers = read_json(read(args.answers), "answers")
        if not isinstance(answers, dict):
            raise InputError([InputProblem("answers", "the answers must be a JSON object of fields")])
    try:
        factors = record.complete(answers)
    except InputError:
        shown = (
            as_json(record, None, alerts) if args.format == "json" else record_text(record, args.fhir, alerts=alerts)
        )
        print(shown, end="")
        raise
    assessment = assess(factors, args.jurisdiction)
    if args.format == "json":
        print(as_json(record, json.loads(assessment.model_dump_json()), alerts), end="")
    else:
        shown = record_text(record, args.fhir, answered_from=args.answers, alerts=alerts)
        print(shown + "\n" + summary(assessment), end="")
    return 0


def red_flag_alerts(record: ImportedRecord, knowledge: Knowledge, jurisdiction: str) -> list[dict[str, Any]]:
    """The knowledge base's alert for each red flag the record's coded values raise (rules/red_flags.yaml)."""
    from decision_aid.knowledge import conditions as cond
    from decision_aid.knowledge import reading

    flagged = {name: record.filled[name] for name in record.red_flags}
    out = []
    for flag_id in reading.red_flags(knowledge, flagged):
        compiled = knowledge.by_id[flag_id]
        spec = compiled.spec.in_(jurisdiction)
        named = [n for n in record.red_flags if n in cond.field_names(compiled.expr)]
        out.append({"id": flag_id, "label": spec.label, "alert": spec.alert, "fields": named})
    return out


def as_json(record: ImportedRecord, assessment: dict[str, Any] | None, alerts: list[dict[str, Any]] = ()) -> str:
    out = {
        "assessment": assessment,
        "filled": record.filled,
        "provenance": {name: asdict(p) for name, p in record.provenance.items()},
        "skipped": [
            {k: getattr(s, k) for k in ("resource_type", "resource_id", "system", "code", "display", "reason")}
            for s in record.skipped
        ],
        "conflicts": [
            {"field": c.field, "values": [{"value": v, "provenance": asdict(p)} for v, p in c.values]}
            for c in record.conflicts
        ],
        "needed": record.needed,
        "red_flags": record.red_flags,
        "red_flag_alerts": list(alerts),
        "has_lumbar_diagnosis": record.has_lumbar_diagnosis,
        "as_of": record.as_of.isoformat() if record.as_of else None,
    }
    return json.dumps(out, indent=2, ensure_ascii=False) + "\n"


def record_text(
    record: ImportedRecord, source: str, answered_from: str | None = None, alerts: list[dict[str, Any]] = ()
) -> str:
    """What came from the record, what was skipped or conflicting, and what is still needed."""
    when = f", as of {record.as_of.isoformat()}" if record.as_of else ""
    lines = [f"From the record ({source}{when}):"]
    lines += [f"  {field_label(n)}: {show_value(n, v)} (from {record.provenance[n]})" for n, v in record.filled.items()]
    if not record.filled:
        lines.append("  nothing the code map knows")
    if record.red_flags:
        lines.append("Red flags coded in the record: " + ", ".join(field_label(n) for n in record.red_flags))
        lines += [f"  RED FLAG, {a['label']}: {a['alert']}" for a in alerts]
    if record.skipped:
        lines.append("Not used:")
        lines += [f"  - {s}" for s in record.skipped]
    if record.conflicts:
        lines.append("Conflicting (not used; please answer):")
        lines += [f"  - {conflict_text(c)}" for c in record.conflicts]
    if record.needed:
        where = f"Answered in {answered_from}: " if answered_from else "Answers still needed: "
        lines.append(where + ", ".join(record.needed))
    return "\n".join(lines) + "\n"


def conflict_text(conflict: Conflict) -> str:
    """ "BMI: 31.2 (Observation/a, ...) or 33.9 (Observation/b, ...)"."""
    shown = " or ".join(f"{_value(conflict.field, v)} ({p})" for v, p in conflict.values)
    return f"{field_label(conflict.field)}: {shown}"


def source_caption(provenance: Provenance) -> str:
    """The caption beside a pre-filled input: "from the record: Observation/123, LOINC 39156-5 ..."."""
    return f"from the record: {provenance}"


def _value(name: str, value: Any) -> str:
    if isinstance(value, list):
        return "one of " + ", ".join(show_value(name, v) for v in value)
    if value == "any":
        return "a value to be asked"
    return show_value(name, value)
