"""A FHIR R4 bundle read into the patient's factors it can fill, each with its provenance, and
the answers still needed before an assessment is allowed.

`import_bundle` validates the bundle with fhir.resources' R4B models (which read R4
resources), then reads the Patient's birth date and every Observation, Condition and
Procedure whose code is in the code map (rules/fhir_codes.yaml, `fhir_codes`).

The record's types (`Provenance`, `Skipped`, `Conflict`, `ImportedRecord`) live in `fhir_record`
and are importable from here. Invariants (clinical safety first):
- Only fields the code map names are filled; everything else stays not known.
- A red flag is never set to no: a record without its code leaves the question needed.
  The motor deficit, conservative care and every contract-required field not filled are
  needed too (the form's explicitly asked fields, from rules/fields.yaml).
- A resource that cannot be used (stale observation, status not final/amended, refuted or
  entered-in-error or inactive condition, procedure not completed, value out of range,
  unit not accepted, answer meaning "unknown") is reported in `skipped` with the reason.
- An entry whose resource is not valid FHIR R4 is skipped with the reason and the rest of the
  bundle used; if it carries a mapped red-flag code, that red flag is taken as present (never
  dropped: a broken resource must not hide a red flag, nor refuse the record with its alerts).
- Several resources giving different values for one field are a conflict: reported, the
  field left not filled and needed (except where the map says the lowest value is meant).
- Nothing is logged, written or sent anywhere.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from decision_aid.json_text import MAX_INPUT_BYTES, read_json, show
from decision_aid.knowledge.fields import FieldSpec, fields
from decision_aid.models import PatientFactors
from decision_aid.records.fhir_bundle import Resource, read_bundle, reference_key
from decision_aid.records.fhir_codes import UNKNOWN, CodeEntry, CodeMap, Setting, code_map, red_flags
from decision_aid.records.fhir_record import Conflict, ImportedRecord, Provenance, Skipped, same

__all__ = [
    "MAX_FILE_BUNDLE_BYTES",
    "Conflict",
    "ImportedRecord",
    "Provenance",
    "Skipped",
    "import_bundle",
    "present_red_flags",
]


MAX_FILE_BUNDLE_BYTES = 50_000_000
"""A bundle FILE read from the command line (`assess --fhir`) may be this large; a bundle from
the page's upload or a CDS request keeps the 1 MB input limit (MAX_INPUT_BYTES)."""


def import_bundle(
    bundle: dict | str | bytes,
    *,
    as_of: dt.date | None = None,
    codes: CodeMap | None = None,
    limit: int = MAX_INPUT_BYTES,
) -> ImportedRecord:
    """Read a FHIR R4 Bundle (a dict, or JSON text/bytes within `limit`: the 1 MB input limit
    unless the caller reads a file from the command line, MAX_FILE_BUNDLE_BYTES).

    Raises InputError naming the element when the bundle's envelope is not valid FHIR R4 (R4B
    models), or when it holds more than one patient; an invalid resource is skipped instead.
    """
    if isinstance(bundle, (str, bytes)):
        bundle = read_json(bundle, "bundle", limit=limit)
    codes = codes or code_map()
    as_of = as_of or dt.date.today()
    resources = read_bundle(bundle)
    return _Importer(codes, as_of).run(resources)


# ---- the import ------------------------------------------------------------------------------


@dataclass
class _Fact:
    setting: Setting
    value: Any
    provenance: Provenance


class _Importer:
    def __init__(self, codes: CodeMap, as_of: dt.date):
        self.codes = codes
        self.as_of = as_of
        self.facts: dict[str, list[_Fact]] = {}
        self.skipped: list[Skipped] = []
        self.lumbar = False

    def run(self, resources: list[Resource]) -> ImportedRecord:
        patients = [r for r in resources if r.type == "Patient"]
        references = {reference_key(ref) for p in patients for ref in p.references}
        for patient in patients:
            if not patient.invalid:
                self.patient(patient)
        for resource in resources:
            if resource.invalid:
                self.invalid(resource, references)
                continue
            if resource.type not in ("Observation", "Condition", "Procedure"):
                continue
            for entry, coding in self.matches(resource):
                if resource.subject and references and reference_key(resource.subject) not in references:
                    self.skip(resource, entry, coding, f"about another patient ({resource.subject})")
                    continue
                self.use(resource, entry, coding)
        return self.record()

    def matches(self, resource: Resource) -> list[tuple[CodeEntry, tuple[str, str]]]:
        found: list[tuple[CodeEntry, tuple[str, str]]] = []
        for system, code in resource.codings:
            entry = self.codes.find(resource.type, system, code)
            if entry is not None and all(entry is not e for e, _ in found):
                found.append((entry, (system, code)))
        return found

    def skip(self, resource: Resource, entry: CodeEntry | None, coding: tuple[str, str], reason: str) -> None:
        display = entry.display if entry else ""
        self.skipped.append(Skipped(resource.type, resource.id, coding[1], reason, coding[0], display))

    def provenance(self, resource: Resource, entry: CodeEntry, coding: tuple[str, str]) -> Provenance:
        return Provenance(resource.type, resource.id, coding[0], coding[1], entry.display, resource.date_text)

    def add(self, setting: Setting, value: Any, provenance: Provenance) -> None:
        self.facts.setdefault(setting.field, []).append(_Fact(setting, value, provenance))

    def invalid(self, resource: Resource, references: set[str]) -> None:
        """An invalid resource is skipped with the reason, but a mapped red-flag code in it raises
        its red flag (the clinically safer reading than dropping it, or refusing the whole
        record and with it every other red flag's alert)."""
        found = self.matches(resource)
        if not found:
            coding = resource.codings[0] if resource.codings else ("", "")
            self.skip(resource, None, coding, resource.invalid or "")
            return
        for entry, coding in found:
            if resource.subject and references and reference_key(resource.subject) not in references:
                self.skip(resource, entry, coding, f"about another patient ({resource.subject})")
                continue
            raised = [s for s in entry.sets if s.read is None and s.ask is None and not s.ask_any]
            raised = [s for s in raised if present_red_flags({s.field: s.value})]
            if not raised:
                self.skip(resource, entry, coding, resource.invalid or "")
                continue
            self.lumbar = self.lumbar or entry.lumbar
            for setting in raised:
                self.add(setting, setting.value, self.provenance(resource, entry, coding))
            self.skip(resource, entry, coding, f"{resource.invalid}: its red flag is taken as present all the same")

    # -- each kind of resource

    def patient(self, patient: Resource) -> None:
        name = self.codes.age_field
        coding = ("", "birthDate")
        if patient.birth is None:
            return
        earliest, latest = patient.birth
        oldest, youngest = _years(earliest, self.as_of), _years(latest, self.as_of)
        if oldest != youngest:
            self.skipped.append(
                Skipped("Patient", patient.id, "birthDate", f"the birth date {patient.birth_text} gives no single age")
            )
            return
        spec = fields()[name]
        if not spec.accepts(oldest):
            reason = f"age {oldest} at {self.as_of.isoformat()} is outside {_range(spec)}"
            self.skipped.append(Skipped("Patient", patient.id, "birthDate", reason))
            return
        prov = Provenance("Patient", patient.id, coding[0], "birthDate", "birth date", patient.birth_text)
        self.add(Setting(field=name, read="quantity"), oldest, prov)

    def use(self, resource: Resource, entry: CodeEntry, coding: tuple[str, str]) -> None:
        reason = self.unusable(resource, entry)
        if reason:
            self.skip(resource, entry, coding, reason)
            return
        if entry.lumbar:
            self.lumbar = True
        prov = self.provenance(resource, entry, coding)
        for setting in entry.sets:
            value, why = self.read(resource, setting)
            if why:
                self.skip(resource, entry, coding, why)
            elif value is not _NOTHING:
                self.add(setting, value, prov)

    def unusable(self, resource: Resource, entry: CodeEntry) -> str | None:
        """Why a resource with a mapped code cannot be used (status, age), or None."""
        use = self.codes.use_status
        if resource.type == "Condition":
            if resource.verification and resource.verification not in use["Condition.verificationStatus"]:
                return f"verification status {resource.verification}"
            if resource.clinical and resource.clinical not in use["Condition.clinicalStatus"]:
                return f"clinical status {resource.clinical}"
            return None
        if resource.status not in use[resource.type]:
            allowed = _either(use[resource.type])
            return f"status {resource.status or 'missing'} (only {allowed} is used)"
        if resource.type != "Observation":
            return None
        if resource.date is None:
            return "no date: its age cannot be told"
        days = (self.as_of - resource.date).days
        limit = entry.max_age_days or self.codes.observation_max_age_days
        if days < 0:
            return f"dated {resource.date_text}, after the as-of date {self.as_of.isoformat()}"
        if days > limit:
            return f"{days} days old at {self.as_of.isoformat()}: older than the {limit}-day limit"
        return None

    def read(self, resource: Resource, setting: Setting) -> tuple[Any, str | None]:
        """The value a setting gives for this resource, or _NOTHING, with a reason when skipped."""
        spec = fields()[setting.field]
        if setting.ask is not None or setting.ask_any:
            return _ASKED, None
        if setting.read is None:
            return setting.value, None
        if setting.read == "quantity":
            if resource.quantity is None:
                return _NOTHING, "no valueQuantity"
            number, unit = resource.quantity
            if unit not in setting.units:
                return (
                    _NOTHING,
                    f"unit {unit or 'missing'} (expected {' or '.join(u or 'none' for u in setting.units)})",
                )
            value: Any = number
        elif setting.read == "answer":
            answer = next((a for a in setting.answers if (a.system, a.code) in resource.answer_codings), None)
            if answer is None:
                return _NOTHING, "its answer is not in the code map"
            if answer.value == UNKNOWN:
                return _NOTHING, f"the answer ({answer.display}) says it is not known"
            value = answer.value
        else:  # months_since
            if resource.when is None:
                return _NOTHING, "no performed date: the months since cannot be told"
            earliest, latest = resource.when
            value = _months(latest, self.as_of)
            if value != _months(earliest, self.as_of):
                return _NOTHING, f"the performed date {resource.date_text} gives no single number of months"
        value = _as_field_type(spec.kind, value)
        if not spec.accepts(value):
            return _NOTHING, f"{setting.field} {show(value)} is outside {_range(spec)}"
        return value, None

    # -- the result

    def record(self) -> ImportedRecord:
        filled: dict[str, Any] = {}
        provenance: dict[str, Provenance] = {}
        conflicts: list[Conflict] = []
        allowed: dict[str, tuple[Any, ...]] = {}
        raised_by: dict[str, list[Provenance]] = {}
        open_: set[str] = set()
        for name, facts in self.facts.items():
            given = [f for f in facts if f.value is not _ASKED]
            asks = [f for f in facts if f.value is _ASKED]
            limits = [f.setting.ask for f in asks if f.setting.ask is not None]
            if given and name in self.codes.lowest_of_several:
                given = [min(given, key=lambda f: f.value)]
            values = _distinct(f.value for f in given)
            fits = all(any(same(v, a) for a in limit) for v in values for limit in limits)
            if len(values) > 1 or (values and not fits):
                conflicts.append(Conflict(name, [(f.value, f.provenance) for f in given] + _asked(asks)))
                open_.add(name)
            elif values:
                filled[name] = values[0]
                provenance[name] = _latest(given).provenance
            else:
                open_.add(name)
                raised_by[name] = [f.provenance for f in asks]
                if limits:
                    allowed[name] = tuple(v for v in limits[0] if all(any(same(v, a) for a in lim) for lim in limits))
        needed = [
            name
            for name, spec in fields().items()
            if name not in filled and (name in open_ or spec.asked or PatientFactors.model_fields[name].is_required())
        ]
        return ImportedRecord(
            filled={name: filled[name] for name in fields() if name in filled},
            provenance={name: provenance[name] for name in fields() if name in provenance},
            skipped=self.skipped,
            conflicts=sorted(conflicts, key=lambda c: list(fields()).index(c.field)),
            needed=needed,
            red_flags=present_red_flags(filled),
            has_lumbar_diagnosis=self.lumbar,
            allowed=allowed,
            raised_by=raised_by,
            as_of=self.as_of,
        )


_NOTHING = object()  # a setting gave no value
_ASKED = object()  # a setting raised the question without answering it


def present_red_flags(values: dict[str, Any]) -> list[str]:
    """The red-flag fields whose red flag the values make present (rules/red_flags.yaml), in field order."""
    found = {name for flag in red_flags() if flag.present(values) for name in flag.fields}
    return [name for name in fields() if name in found]


def _range(spec: FieldSpec) -> str:
    if spec.kind in ("integer", "number"):
        return f"the allowed range {spec.minimum:g} to {spec.maximum:g}"
    return "the allowed values"


def _either(words: tuple[str, ...]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


def _asked(asks: list[_Fact]) -> list[tuple[Any, Provenance]]:
    return [(list(f.setting.ask) if f.setting.ask is not None else "any", f.provenance) for f in asks]


def _distinct(values) -> list[Any]:
    out: list[Any] = []
    for v in values:
        if not any(same(v, o) for o in out):
            out.append(v)
    return out


def _latest(facts: list[_Fact]) -> _Fact:
    return max(facts, key=lambda f: f.provenance.date or "")


def _as_field_type(kind: str, value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    if kind == "integer" and float(value).is_integer():
        return int(value)
    if kind == "number":
        return float(value)
    return value


def _years(born: dt.date, on: dt.date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _months(since: dt.date, on: dt.date) -> int:
    return (on.year - since.year) * 12 + on.month - since.month - (on.day < since.day)
