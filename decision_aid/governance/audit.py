"""`audit` as data: for each procedure patients actually had, how often the rules called it worth
discussing, discuss with caution, not advised or not applicable, and the commonest reasons behind
"not advised", with example ids.

The performed value is one of the six options, or a local procedure code that a mapping file (YAML
`code: option`, or CSV with columns `code,option`) turns into one. A row whose performed value is
empty is counted as "not recorded", one whose value is neither an option nor a mapped code as
"unknown" (by code), both with their ids: never dropped. Rows invalid under the contract are listed.
The report opens with the statement in rules/audit.yaml (a discussion aid, not a standard of care).
"""

from __future__ import annotations

import csv
import datetime as dt
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from decision_aid.errors import KnowledgeError, KnowledgeProblem
from decision_aid.knowledge.files import read_yaml
from decision_aid.knowledge.loader import Knowledge
from decision_aid.models import OPTIONS, VERDICTS

from .folders import GovernanceInputError
from .passes import PatientResult

FILE = "audit.yaml"
TOP_REASONS, EXAMPLE_IDS = 5, 5


class Statement(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    title: str
    statement: str
    evidence: list[str] = Field(min_length=1)
    reviewed: dt.date


def statement(knowledge: Knowledge) -> dict[str, Any]:
    """The report's statement from rules/audit.yaml, with its references; KnowledgeError naming the file."""
    try:
        data = read_yaml((knowledge.directory / FILE).read_text(encoding="utf-8"))
        spec = Statement.model_validate((data or {}).get("audit"))
    except (OSError, yaml.YAMLError, AttributeError) as error:
        raise KnowledgeError([KnowledgeProblem(FILE, "", f"cannot read: {error}")]) from None
    except ValidationError as error:
        raise KnowledgeError([KnowledgeProblem(FILE, "audit", str(e["msg"])) for e in error.errors()]) from None
    unknown = [c for c in spec.evidence if c not in knowledge.citations]
    if unknown:
        raise KnowledgeError([KnowledgeProblem(FILE, spec.id, f"unknown citation id '{c}'") for c in unknown])
    return {
        "id": spec.id,
        "title": spec.title,
        "statement": " ".join(spec.statement.split()),
        "evidence": [{"id": c, "reference": knowledge.citations[c].reference} for c in spec.evidence],
    }


def read_mapping(path: str | Path) -> dict[str, str]:
    """Local procedure code -> option, from YAML (`code: option`, each code as written: `0123` stays
    0123) or CSV (`code,option`); every problem is GovernanceInputError naming the file and the code
    or line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise GovernanceInputError(f"cannot read mapping {path}: {error}") from None
    pairs: list[tuple[str, Any, str]] = []  # (code, option, where)
    if path.suffix.lower() == ".csv":
        reader = csv.DictReader(text.splitlines())
        if reader.fieldnames is None or set(reader.fieldnames) != {"code", "option"}:
            raise GovernanceInputError(f"mapping {path}: the columns must be code,option (got {reader.fieldnames})")
        pairs = [(str(r["code"]).strip(), r["option"], f"line {i}") for i, r in enumerate(reader, start=2)]
    else:
        try:
            data = read_yaml(text)
        except yaml.YAMLError as error:
            raise GovernanceInputError(f"mapping {path}: {error}") from None
        if not isinstance(data, dict):
            raise GovernanceInputError(f"mapping {path}: expected a mapping of local code to option")
        pairs = [(code, option, f"code {code!r}") for code, option in _as_written(text, data, path)]
    mapping: dict[str, str] = {}
    for code, option, where in pairs:
        if option not in OPTIONS:
            allowed = ", ".join(OPTIONS)
            raise GovernanceInputError(f"mapping {path}: {where}: {option!r} is not an option (allowed: {allowed})")
        if not code:
            raise GovernanceInputError(f"mapping {path}: {where}: an empty code")
        if code in mapping and mapping[code] != option:
            raise GovernanceInputError(f"mapping {path}: {where}: code {code!r} is mapped twice")
        mapping[code] = option
    return mapping


def _as_written(text: str, data: dict[Any, Any], path: Path) -> list[tuple[str, Any]]:
    """The (code, option) pairs of a YAML mapping with each code as the file writes it: YAML 1.1 would
    read `0123` as the integer 83, `1_000` as 1000, `yes` as true; a code is the key's text."""
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    codes = [key.value.strip() if isinstance(key, yaml.ScalarNode) else str(key.value) for key, _ in node.value]
    if len(codes) != len(data):  # a merge key (`<<:`)
        raise GovernanceInputError(f"mapping {path}: write each code: option pair out (no merge keys)")
    return list(zip(codes, data.values(), strict=True))


def performed_option(value: Any, mapping: dict[str, str] | None) -> str | None:
    """The option a performed value names (a mapped local code first), else None."""
    text = "" if value is None else str(value).strip()
    if mapping and text in mapping:
        return mapping[text]
    return text if text in OPTIONS else None


def tally(
    results: Iterable[PatientResult], knowledge: Knowledge, mapping: dict[str, str] | None, jurisdiction: str
) -> dict[str, Any]:
    """One jurisdiction's audit of the results, in the order they come."""
    verdicts = {o: Counter() for o in OPTIONS}
    reasons = {o: Counter() for o in OPTIONS}
    examples: dict[tuple[str, str], list[str]] = {}
    not_recorded: list[str] = []
    unknown: dict[str, list[str]] = {}
    invalid: list[dict[str, Any]] = []
    rows = 0
    for result in results:
        rows += 1
        if not result.valid:
            invalid.append({"id": result.id, "problems": list(result.problems)})
            continue
        text = "" if result.performed is None else str(result.performed).strip()
        option = performed_option(text, mapping)
        if not text:
            not_recorded.append(result.id)
            continue
        if option is None:
            unknown.setdefault(text, []).append(result.id)
            continue
        verdict = result.verdicts[option]
        verdicts[option][verdict] += 1
        if verdict == "not_advised":
            for rule_id in dict.fromkeys(r for r, effect in result.reasons[option] if effect == "opposes"):
                reasons[option][rule_id] += 1
                found = examples.setdefault((option, rule_id), [])
                if len(found) < EXAMPLE_IDS:
                    found.append(result.id)
    procedures = {}
    for option in OPTIONS:
        total = sum(verdicts[option].values())
        if not total:
            continue
        procedures[option] = {
            "patients": total,
            "verdicts": {v: verdicts[option][v] for v in VERDICTS},
            "not_advised_reasons": [
                {
                    "rule_id": rule_id,
                    "label": _label(knowledge, rule_id, jurisdiction),
                    "count": count,
                    "examples": examples[(option, rule_id)],
                }
                for rule_id, count in sorted(reasons[option].items(), key=lambda item: (-item[1], item[0]))[
                    :TOP_REASONS
                ]
            ],
        }
    return {
        "rows": rows,
        "audited": sum(p["patients"] for p in procedures.values()),
        "procedures": procedures,
        "not_recorded": {"count": len(not_recorded), "ids": not_recorded},
        "unknown": {
            "count": sum(len(ids) for ids in unknown.values()),
            "codes": {code: {"count": len(ids), "ids": ids} for code, ids in sorted(unknown.items())},
        },
        "invalid": invalid,
    }


def _label(knowledge: Knowledge, rule_id: str, jurisdiction: str) -> str:
    spec = knowledge.by_id[rule_id].spec
    return (spec.in_(jurisdiction) if hasattr(spec, "in_") else spec).label
