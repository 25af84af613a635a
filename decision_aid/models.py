"""The public contract in code: a patient's factors in, an assessment out.

Field names, allowed values, ranges and defaults are exactly those of the
contract. `null` means "not known" and is the default of every nullable field,
so an omitted finding is unknown, never normal.
"""

from __future__ import annotations

import json
import math
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from decision_aid.errors import InputError, InputProblem
from decision_aid.json_text import NumberText, read_json, show, show_key

Option = Literal[
    "conservative_care",
    "decompression_alone",
    "dynamic_stabilisation",
    "fusion",
    "revision_surgery",
    "disc_replacement",
]
OPTIONS: tuple[str, ...] = get_args(Option)

Verdict = Literal["worth_discussing", "discuss_with_caution", "not_advised", "not_applicable"]
VERDICTS: tuple[str, ...] = get_args(Verdict)

Effect = Literal["supports", "cautions", "opposes", "excludes"]
EFFECTS: tuple[str, ...] = get_args(Effect)

FindingState = Literal["present", "absent", "unknown"]

Level = Literal["L1-L2", "L2-L3", "L3-L4", "L4-L5", "L5-S1"]
Grade4 = Literal["none", "mild", "moderate", "severe"]

# The jurisdiction: a setting of the assessment (whose guidance and device labels apply), never a
# patient factor. It is part of the engine's facts and of the condition vocabulary.
Jurisdiction = Literal["uk", "us"]
JURISDICTIONS: tuple[str, ...] = get_args(Jurisdiction)
DEFAULT_JURISDICTION = "uk"
# Settings the engine reads beside the patient's factors: name -> allowed values (the first is the default).
SETTINGS: dict[str, tuple[str, ...]] = {"jurisdiction": JURISDICTIONS}


def parse_jurisdiction(value: Any) -> str:
    """The jurisdiction to assess under (None: the default, 'uk'); InputError naming `jurisdiction` otherwise."""
    if value is None:
        return DEFAULT_JURISDICTION
    if isinstance(value, str) and value in JURISDICTIONS:
        return value
    allowed = ", ".join(json.dumps(v) for v in JURISDICTIONS)
    raise InputError([InputProblem("jurisdiction", f"got {show(value)}; allowed: {allowed}")])


def _whole_number(value: Any) -> Any:
    """A whole-number float (63.0) is an integer, as the contract says; 63.5 stays invalid."""
    if type(value) is float and value.is_integer():
        return int(value)
    return value


def _whole(lo: int, hi: int) -> Any:
    """An integer from lo to hi that also accepts a whole-number float (the range stays in the schema)."""
    return Annotated[int, Field(ge=lo, le=hi), BeforeValidator(_whole_number)]


def _number(lo: float, hi: float, description: str) -> Any:
    return Field(default=None, ge=lo, le=hi, allow_inf_nan=False, description=description)


class PatientFactors(BaseModel):
    """One patient's factors, validated strictly (JSON types; unknown fields rejected)."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    age: _whole(18, 110) = Field(description="years")
    activity_level: Literal["low", "moderate", "high"] = Field(
        "moderate", description="usual physical demand; high = heavy manual work or sport"
    )
    bmi: float | None = _number(12, 80, "body-mass index")
    smoker: bool | None = Field(None, description="smokes now")
    asa_grade: _whole(1, 5) | None = Field(None, description="ASA physical status")
    bone_density_t_score: float | None = _number(-7, 4, "lowest DEXA T-score of spine or hip")
    ct_l1_hounsfield: float | None = _number(
        -100, 600, "CT attenuation of L1 in Hounsfield units (bone quality when DEXA is not available)"
    )
    back_pain: bool = Field(description="axial low back pain")
    leg_pain: bool = Field(description="radicular leg pain or neurogenic claudication")
    symptom_duration_weeks: _whole(0, 2600) = Field(description="how long the current symptoms have lasted")
    conservative_care_weeks: _whole(0, 2600) = Field(0, description="weeks of structured non-operative care tried")
    odi: _whole(0, 100) | None = Field(None, description="Oswestry Disability Index (0 none, 100 bed-bound)")
    motor_deficit: Literal["none", "stable", "severe", "progressive"] = Field(
        "none",
        description="objective leg weakness: stable = not worsening and not new; severe = new or recent "
        "weakness below 3/5; progressive = getting worse",
    )
    cauda_equina_syndrome: bool = Field(False, description="suspected or confirmed")
    suspected_infection: bool = False
    suspected_tumour: bool = False
    suspected_fracture: bool = False
    index_level: Level | None = Field(None, description="the symptomatic level (the lowest, when several)")
    levels: _whole(1, 5) = Field(description="number of symptomatic lumbar levels")
    slip_grade: _whole(0, 5) = Field(description="Meyerding grade; 0 = no slip")
    slip_type: Literal["none", "degenerative", "isthmic"] = Field(
        "none", description="none only with grade 0; isthmic with grade 0 = a pars defect without a slip"
    )
    stenosis: Grade4 | None = Field(None, description="worst canal or foraminal stenosis at the symptomatic level(s)")
    disc_herniation: Literal["none", "first", "recurrent"] | None = Field(
        None, description="a disc herniation compressing a nerve root; recurrent = at a level operated on before"
    )
    translation_mm: float | None = _number(0, 30, "sagittal translation between flexion and extension films (mm)")
    angulation_deg: float | None = _number(0, 45, "angular motion between flexion and extension films (degrees)")
    pfirrmann_grade: _whole(1, 5) | None = Field(None, description="disc degeneration at the index level (MRI)")
    facet_arthropathy: Grade4 | None = Field(None, description="at the index level")
    scoliosis_cobb_deg: float | None = _number(0, 120, "lumbar coronal Cobb angle (degrees)")
    sagittal_imbalance: bool | None = Field(
        None, description="sagittal malalignment needing correction (SVA over 5 cm, or PI-LL mismatch over 10 degrees)"
    )
    prior_fusion: Literal["none", "solid", "pseudarthrosis", "hardware_failure"] = Field(
        "none", description="a previous lumbar fusion and its state"
    )
    months_since_fusion: _whole(0, 600) | None = Field(None, description="given only when prior_fusion is not none")
    adjacent_segment_disease: bool = Field(
        False, description="the symptoms come from the level next to a previous fusion"
    )
    prior_decompression: bool = Field(
        False, description="previous decompression or discectomy at the symptomatic level"
    )
    psychosocial_yellow_flags: bool = Field(
        False, description="psychosocial factors known to worsen outcomes of stabilising surgery"
    )
    prefers_motion_preservation: bool = Field(
        False, description="the patient's stated wish; never an indication by itself"
    )
    # ---- version 2 (contract.md, "Version 2 additions") ----
    leg_symptom_pattern: Literal["claudication", "radicular", "both"] | None = Field(
        None,
        description="only with leg pain; claudication = buttock or leg pain on standing or walking, eased by "
        "sitting or bending forward; radicular = pain in one nerve root's territory, also at rest",
    )
    flexion_relief: bool | None = Field(
        None, description="only with leg pain: leg, buttock or groin pain eases on bending forward"
    )
    prior_index_surgery: Literal["none", "discectomy", "laminotomy", "laminectomy", "facetectomy"] | None = Field(
        None,
        description="the most extensive earlier operation at the symptomatic level(s); laminotomy = part of a "
        "lamina removed, spinous process kept; laminectomy = lamina and spinous process removed; facetectomy = "
        "more than half a facet joint removed; other than none only with prior_decompression",
    )
    prior_motion_implant: Literal["none", "dynamic_stabilisation", "interlaminar_device", "disc_replacement"] = Field(
        "none",
        description="a motion-preserving implant in the lumbar spine: a pedicle-screw dynamic system (Dynesys "
        "type), an interlaminar or interspinous device (Coflex type), a disc replacement",
    )
    motion_implant_state: Literal["working", "mechanical_failure", "symptoms_at_implant", "adjacent_level"] | None = (
        Field(
            None,
            description="only with an implant; working = intact, symptoms from neither its level nor the next; "
            "mechanical_failure = loosening, breakage, migration or subsidence, with symptoms; symptoms_at_implant "
            "= symptoms from the implanted level, implant intact; adjacent_level = symptoms from the next level",
        )
    )
    slip_direction: Literal["antero", "retro"] | None = Field(
        None, description="only with a slip; retro only with a degenerative slip"
    )
    slip_levels: _whole(1, 5) | None = Field(
        None, description="levels with a slip; only with a slip, at most the symptomatic levels"
    )

    @model_validator(mode="after")
    def _cross_field_checks(self) -> PatientFactors:
        problems: list[tuple[str, str]] = []
        if self.slip_type == "none" and self.slip_grade > 0:
            problems.append(("slip_type", "a slip of grade 1 or more needs slip_type 'degenerative' or 'isthmic'"))
        if self.slip_type == "degenerative" and self.slip_grade == 0:
            problems.append(("slip_type", "'degenerative' needs slip_grade 1 or more (use 'none' for no slip)"))
        if self.conservative_care_weeks > self.symptom_duration_weeks:
            problems.append(("conservative_care_weeks", "cannot exceed symptom_duration_weeks"))
        if self.prior_fusion == "none" and self.adjacent_segment_disease:
            problems.append(("adjacent_segment_disease", "needs a previous fusion (prior_fusion other than 'none')"))
        if self.prior_fusion == "none" and self.months_since_fusion is not None:
            problems.append(("months_since_fusion", "given only when prior_fusion is not 'none'"))
        problems += self._version_2_problems()
        if problems:
            raise ValidationError.from_exception_data(
                "PatientFactors",
                [
                    InitErrorDetails(
                        type=PydanticCustomError("cross_field", message),
                        loc=(field,),
                        input=getattr(self, field),
                    )
                    for field, message in problems
                ],
            )
        return self

    def _version_2_problems(self) -> list[tuple[str, str]]:
        """The cross-field checks of the version 2 fields, each naming the field that must change."""
        problems: list[tuple[str, str]] = []
        if not self.leg_pain:
            for name in ("leg_symptom_pattern", "flexion_relief"):
                if getattr(self, name) is not None:
                    problems.append((name, "given only with leg pain (leg_pain true)"))
        surgery = self.prior_index_surgery
        if surgery not in (None, "none") and not self.prior_decompression:
            problems.append(("prior_index_surgery", f"'{surgery}' needs prior_decompression true"))
        if surgery == "none" and self.prior_decompression:
            problems.append(("prior_index_surgery", "'none' contradicts prior_decompression true"))
        elif surgery == "none" and self.disc_herniation == "recurrent":
            problems.append(
                ("prior_index_surgery", "'none' contradicts a recurrent disc herniation (at an operated level)")
            )
        if self.prior_motion_implant == "none" and self.motion_implant_state is not None:
            problems.append(("motion_implant_state", "given only with an implant (prior_motion_implant not 'none')"))
        for name in ("slip_direction", "slip_levels"):
            if self.slip_grade == 0 and getattr(self, name) is not None:
                problems.append((name, "given only with a slip (slip_grade 1 or more)"))
        if self.slip_direction == "retro" and self.slip_grade > 0 and self.slip_type != "degenerative":
            problems.append(("slip_direction", "'retro' only with slip_type 'degenerative'"))
        if self.slip_levels is not None and self.slip_levels > self.levels and self.slip_grade > 0:
            problems.append(("slip_levels", "cannot exceed levels"))
        return problems

    @classmethod
    def allows(cls, values: dict[str, Any]) -> bool:
        """Do these known values pass every range and cross-field check? (for what-if searches)

        Settings the engine reads beside the factors (the jurisdiction) are not factors and are left out.
        """
        try:
            cls.model_validate({k: v for k, v in values.items() if k not in SETTINGS})
        except ValidationError:
            return False
        return True

    def known_values(self) -> dict[str, Any]:
        """The factors that are known (nulls left out), as plain JSON values."""
        return {k: v for k, v in self.model_dump().items() if v is not None}


def parse_factors(data: PatientFactors | dict[str, Any] | str | bytes) -> PatientFactors:
    """Validate a dict or JSON text; raise InputError naming each bad field.

    JSON text is read by `json_text.read_json` (size limit, UTF-8, no repeated keys);
    a dict is validated exactly as the same object parsed from JSON would be.
    """
    if isinstance(data, PatientFactors):
        return data
    if isinstance(data, (str, bytes)):
        data = read_json(data)
    if not isinstance(data, dict):
        raise InputError([InputProblem("(input)", "a patient must be a JSON object")])
    not_json = [
        InputProblem(show_key(k), f"not a JSON value ({type(v).__name__})")
        for k, v in data.items()
        if type(v) not in _JSON_TYPES and not isinstance(v, NumberText)
    ]
    not_json += [InputProblem(show_key(k), "a field name must be text") for k in data if not isinstance(k, str)]
    if not_json:
        raise InputError(not_json)
    # A number no field could hold reaches validation as infinity, so its error names the field;
    # the message quotes the number as it was written.
    values = {k: _as_number(v) if isinstance(v, NumberText) else v for k, v in data.items()}
    try:
        return PatientFactors.model_validate(values)
    except ValidationError as error:
        raise InputError(_problems(error, data)) from None


def _as_number(text: NumberText) -> float:
    return -math.inf if text.startswith("-") else math.inf


_JSON_TYPES = (str, int, float, bool, type(None), list, dict)


def _problems(error: ValidationError, given: dict[str, Any]) -> list[InputProblem]:
    problems = []
    for detail in error.errors(include_url=False, include_input=False):
        loc = detail["loc"]
        field = str(loc[0]) if loc else "(input)"
        message = detail["msg"]
        kind = detail["type"]
        if kind == "extra_forbidden":
            message = "unknown field" + _did_you_mean(field)
        elif kind == "model_type" or kind == "model_attributes_type":
            message = "a patient must be a JSON object"
        elif isinstance(given.get(field), NumberText):
            message = "a number out of range"
        field_info = PatientFactors.model_fields.get(field)
        if field_info is not None and kind not in ("missing", "cross_field"):
            message += f" (got {show(given.get(field))}; allowed: {allowed_values(field)})"
        elif kind == "missing":
            message = f"required (allowed: {allowed_values(field)})"
        problems.append(InputProblem(show_key(field), message))
    return problems


def _did_you_mean(field: str) -> str:
    import difflib

    close = difflib.get_close_matches(field[:100], PatientFactors.model_fields, n=1)
    return f"; did you mean '{close[0]}'?" if close else ""


def allowed_values(field: str) -> str:
    """A readable description of a field's allowed values, from the schema."""
    prop = input_schema()["properties"][field]
    variants = prop.get("anyOf", [prop])
    parts = []
    for variant in variants:
        if "enum" in variant:
            parts.append(", ".join(json.dumps(v) for v in variant["enum"]))
        elif variant.get("type") == "null":
            parts.append("null (not known)")
        elif variant.get("type") == "boolean":
            parts.append("true or false")
        elif variant.get("type") in ("integer", "number"):
            kind = "an integer" if variant["type"] == "integer" else "a number"
            parts.append(f"{kind} from {_num(variant['minimum'])} to {_num(variant['maximum'])}")
    return " or ".join(parts)


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


_SCHEMA: dict[str, Any] | None = None


def input_schema() -> dict[str, Any]:
    """The input JSON Schema (what `decision-aid schema` prints)."""
    global _SCHEMA
    if _SCHEMA is None:
        _SCHEMA = PatientFactors.model_json_schema()
    return _SCHEMA


# ---- output -----------------------------------------------------------------


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Reason(_Out):
    rule_id: str
    effect: Effect
    explanation: str
    patient_explanation: str
    evidence: list[str]


class Note(_Out):
    rule_id: str
    text: str
    evidence: list[str]


class OptionAssessment(_Out):
    verdict: Verdict
    reasons: list[Reason]
    notes: list[Note]


class Alert(_Out):
    code: str
    message: str


class Finding(_Out):
    id: str
    state: FindingState
    explanation: str


class MissingInformation(_Out):
    field: str
    why: str
    options: list[Option]
    # how the value is obtained (rules/fields.yaml), so views can ask for one test at a time
    test: str | None = Field(default=None, exclude_if=lambda value: value is None)


class Assessment(_Out):
    urgent_referral: bool
    alerts: list[Alert]
    options: dict[Option, OptionAssessment]
    findings: list[Finding]
    missing_information: list[MissingInformation]
    knowledge_version: str
    jurisdiction: Jurisdiction  # whose guidance and device labels the verdicts follow (uk, the default, or us)
