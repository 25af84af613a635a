"""A FHIR R4 Bundle validated with fhir.resources' R4B models and reduced to what the import
reads of each resource: its codes, status, date, value and subject.

A bundle whose envelope is not valid FHIR R4 raises InputError naming the element, never a
traceback. Each entry's resource is validated on its own: an invalid one (or one of a type R4
does not have) is returned with `invalid` saying why, and only its type, id, subject reference
and codes read from the JSON as given, so that one broken resource cannot hide the others and
the import can still see a red-flag code in it.
Dates may be partial in FHIR ("1961", "2019-05"): each is kept as the earliest and latest
day it could mean, so that a reader can tell when a partial date decides nothing.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from decision_aid.errors import InputError, InputProblem
from decision_aid.json_text import show, show_key

Span = tuple[dt.date, dt.date]  # the earliest and latest day a FHIR date could mean
_MAX_PROBLEMS = 20


@dataclass(frozen=True)
class Resource:
    """What the import reads of one resource."""

    type: str
    id: str | None
    references: tuple[str, ...] = ()  # how other resources may refer to this one
    subject: str | None = None  # the patient the resource is about ("Patient/123"), if given
    codings: tuple[tuple[str, str], ...] = ()  # (system, code) of Resource.code
    status: str | None = None  # Observation.status, Procedure.status
    clinical: str | None = None  # Condition.clinicalStatus
    verification: str | None = None  # Condition.verificationStatus
    when: Span | None = None  # effective / onset or recorded / performed
    date_text: str | None = None
    quantity: tuple[float, str] | None = None  # valueQuantity: value and UCUM code (or unit; "" for none)
    answer_codings: frozenset[tuple[str, str]] = frozenset()  # valueCodeableConcept
    birth: Span | None = None  # Patient.birthDate
    birth_text: str | None = None
    invalid: str | None = None  # why the resource is not valid FHIR R4 (then only type, id, subject, codes are read)

    @property
    def date(self) -> dt.date | None:
        """The earliest day the resource's date could mean (the conservative reading of its age)."""
        return self.when[0] if self.when else None


def read_bundle(data: Any) -> list[Resource]:
    """The bundle's resources, validated as FHIR R4 (R4B models); InputError naming the element,
    or when it holds more than one patient (two Patient resources or, with none, resources whose
    subjects name more than one)."""
    from fhir.resources.R4B import get_fhir_model_class
    from fhir.resources.R4B.bundle import Bundle

    if not isinstance(data, dict):
        raise InputError([InputProblem("bundle", "a FHIR bundle must be a JSON object")])
    if data.get("resourceType") != "Bundle":
        got = show(data.get("resourceType")) if "resourceType" in data else "none"
        raise InputError([InputProblem("resourceType", f'expected a FHIR Bundle (resourceType "Bundle"), got {got}')])
    entries = data.get("entry") if isinstance(data.get("entry"), list) else []
    shell = {**data, "entry": [_without_resource(e) for e in entries]} if entries else data
    try:
        bundle = Bundle.model_validate(shell)
    except ValidationError as error:
        raise InputError(_problems(error, entries)) from None
    except (ValueError, TypeError, KeyError, RecursionError) as error:
        raise InputError([InputProblem("bundle", f"not a valid FHIR R4 bundle ({type(error).__name__})")]) from None
    out = []
    for i, entry in enumerate(bundle.entry or []):
        resource = entries[i].get("resource") if isinstance(entries[i], dict) else None
        if resource is not None:
            out.append(_entry(i, resource, entry.fullUrl, get_fhir_model_class))
    patients = {f"Patient/{p.id or i}" for i, p in enumerate(out) if p.type == "Patient"}
    if not patients:  # then the resources' subjects must name one patient
        patients = {reference_key(r.subject) for r in out if r.subject}
    if len(patients) > 1:
        named = ", ".join(sorted(patients))
        raise InputError(
            [InputProblem("entry", f"the bundle holds more than one patient ({named}): import one at a time")]
        )
    return out


_REFERENCE = re.compile(r"(?:^|/)([A-Z][A-Za-z]+/[A-Za-z0-9\-.]{1,64})(?:/_history/[A-Za-z0-9\-.]{1,64})?/?$")


def reference_key(reference: str) -> str:
    """A reference as `Type/id`: a base URL before it and a `/_history/<version>` after it are
    dropped, so `https://ehr.example.org/fhir/Patient/1/_history/2` and `Patient/1` are one
    patient. Any other reference (`urn:uuid:...`) is kept as it is."""
    found = _REFERENCE.search(reference)
    return found.group(1) if found and not reference.startswith(("urn:", "#")) else reference


def _without_resource(entry: Any) -> Any:
    return {k: v for k, v in entry.items() if k != "resource"} if isinstance(entry, dict) else entry


def _entry(i: int, data: Any, full_url: str | None, model_class: Any) -> Resource:
    """One entry's resource validated on its own; an invalid one keeps its type, id, subject and
    codes (read from the JSON as given) with the reason it is not valid FHIR R4."""
    if not isinstance(data, dict):
        return Resource("resource", None, invalid=f"not valid FHIR R4: entry[{i}].resource is not a JSON object")
    kind = data.get("resourceType")
    try:
        model = model_class(kind if isinstance(kind, str) else "")
    except (ValueError, KeyError):
        return _invalid(data, full_url, f"not valid FHIR R4: {show(kind)} is not a FHIR R4 resource type")
    try:
        return _resource(model.model_validate(data), full_url)
    except ValidationError as error:
        found = [f"{_path(list(e['loc'])) or 'resource'}: {' '.join(str(e['msg']).split())}" for e in error.errors()]
        return _invalid(data, full_url, "not valid FHIR R4: " + "; ".join(found[:3]))
    except (ValueError, TypeError, KeyError, RecursionError) as error:
        return _invalid(data, full_url, f"not valid FHIR R4 ({type(error).__name__})")


def _invalid(data: dict[str, Any], full_url: str | None, reason: str) -> Resource:
    kind = data.get("resourceType") if isinstance(data.get("resourceType"), str) else "resource"
    rid = data.get("id") if isinstance(data.get("id"), str) else None
    subject = data.get("subject")
    reference = subject.get("reference") if isinstance(subject, dict) else None
    code = data.get("code")
    codings = code.get("coding") if isinstance(code, dict) else None
    pairs = tuple(
        (c.get("system") if isinstance(c.get("system"), str) else "", c["code"])
        for c in (codings if isinstance(codings, list) else [])
        if isinstance(c, dict) and isinstance(c.get("code"), str) and c["code"]
    )
    references = tuple(x for x in (f"{kind}/{rid}" if rid else None, full_url) if x)
    return Resource(kind, rid, references, reference if isinstance(reference, str) else None, pairs, invalid=reason)


def _problems(error: ValidationError, entries: list[Any]) -> list[InputProblem]:
    out = []
    for e in error.errors(include_url=False)[:_MAX_PROBLEMS]:
        loc = list(e["loc"])
        where = _path(loc)
        if len(loc) >= 3 and loc[0] == "entry" and isinstance(loc[1], int) and loc[2] == "resource":
            resource = entries[loc[1]].get("resource", {}) if loc[1] < len(entries) else {}
            kind, rid = resource.get("resourceType"), resource.get("id")
            named = f"{show_key(kind)}/{show_key(rid)}" if rid is not None else show_key(kind)
            where = f"entry[{loc[1]}].resource ({named})" + _path(loc[3:], lead=True)
        message = " ".join(str(e["msg"]).split())
        out.append(InputProblem(where or "bundle", f"not valid FHIR R4: {message}"))
    return out


def _path(loc: list[Any], lead: bool = False) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f".{show_key(part)}"
    return text if lead else text.lstrip(".")


def _resource(r: Any, full_url: str | None) -> Resource:
    kind = r.get_resource_type()
    rid = getattr(r, "id", None)
    references = tuple(x for x in (f"{kind}/{rid}" if rid else None, full_url) if x)
    subject = getattr(getattr(r, "subject", None), "reference", None)
    codings = _codings(getattr(r, "code", None))
    if kind == "Patient":
        birth = _span(r.birthDate)
        return Resource(kind, rid, references, birth=birth, birth_text=_text(r.birthDate))
    if kind == "Observation":
        moment = r.effectiveDateTime or r.effectiveInstant or _period(r.effectivePeriod) or r.issued
        quantity = None
        if r.valueQuantity is not None and r.valueQuantity.value is not None:
            unit = r.valueQuantity.code or r.valueQuantity.unit or ""
            quantity = (float(r.valueQuantity.value), unit)
        answers = frozenset(_codings(r.valueCodeableConcept))
        return Resource(
            kind,
            rid,
            references,
            subject,
            codings,
            status=r.status,
            when=_span(moment),
            date_text=_text(moment),
            quantity=quantity,
            answer_codings=answers,
        )
    if kind == "Condition":
        moment = r.onsetDateTime or _period(r.onsetPeriod) or r.recordedDate
        clinical = _first_code(r.clinicalStatus)
        verification = _first_code(r.verificationStatus)
        return Resource(
            kind,
            rid,
            references,
            subject,
            codings,
            clinical=clinical,
            verification=verification,
            when=_span(moment),
            date_text=_text(moment),
        )
    if kind == "Procedure":
        moment = r.performedDateTime or _period(r.performedPeriod, start=True)
        return Resource(
            kind, rid, references, subject, codings, status=r.status, when=_span(moment), date_text=_text(moment)
        )
    return Resource(kind, rid, references, subject, codings)


def _codings(concept: Any) -> tuple[tuple[str, str], ...]:
    if concept is None:
        return ()
    return tuple((c.system or "", c.code) for c in concept.coding or [] if c.code)


def _first_code(concept: Any) -> str | None:
    codes = _codings(concept)
    return codes[0][1] if codes else None


def _period(period: Any, start: bool = False) -> Any:
    if period is None:
        return None
    return (period.start or period.end) if start else (period.end or period.start)


def _span(value: Any) -> Span | None:
    """The earliest and latest day a FHIR date, dateTime or instant could mean."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date(), value.date()
    if isinstance(value, dt.date):
        return value, value
    text = str(value)
    try:
        if len(text) == 4:
            year = int(text)
            return dt.date(year, 1, 1), dt.date(year, 12, 31)
        if len(text) == 7:
            year, month = int(text[:4]), int(text[5:7])
            return dt.date(year, month, 1), dt.date(year, month, calendar.monthrange(year, month)[1])
        return dt.date.fromisoformat(text[:10]), dt.date.fromisoformat(text[:10])
    except ValueError:
        return None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    return value.isoformat() if isinstance(value, dt.date) else str(value)
