"""The factors form as data: groups, help text, and answers turned into a patient.

Kept out of the page so it can be tested without Streamlit. Help text follows
clinical-reference.md section 7; units and allowed ranges come from the input
contract (decision_aid.vocabulary), so they cannot drift from validation.
"""

from __future__ import annotations

from typing import Any

from decision_aid.labels import field_label
from decision_aid.models import PatientFactors
from decision_aid.vocabulary import FieldSpec, fields

NOT_KNOWN = "not known"

GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "Patient",
        (
            "age",
            "activity_level",
            "bmi",
            "smoker",
            "asa_grade",
            "bone_density_t_score",
            "ct_l1_hounsfield",
            "psychosocial_yellow_flags",
        ),
    ),
    (
        "Symptoms and neurology",
        (
            "back_pain",
            "leg_pain",
            "symptom_duration_weeks",
            "conservative_care_weeks",
            "odi",
            "motor_deficit",
            # the red flags: each asked explicitly
            "cauda_equina_syndrome",
            "suspected_infection",
            "suspected_tumour",
            "suspected_fracture",
        ),
    ),
    (
        "Imaging",
        (
            "index_level",
            "levels",
            "slip_grade",
            "slip_type",
            "stenosis",
            "disc_herniation",
            "translation_mm",
            "angulation_deg",
            "pfirrmann_grade",
            "facet_arthropathy",
            "scoliosis_cobb_deg",
            "sagittal_imbalance",
        ),
    ),
    ("Previous surgery", ("prior_fusion", "months_since_fusion", "adjacent_segment_disease", "prior_decompression")),
    ("Preferences", ("prefers_motion_preservation",)),
)

# The question each red flag asks; every one is answered explicitly (default no).
QUESTIONS = {
    "cauda_equina_syndrome": "Cauda equina syndrome suspected or confirmed?",
    "suspected_infection": "Spinal infection suspected?",
    "suspected_tumour": "Tumour suspected?",
    "suspected_fracture": "Fracture suspected?",
}

_FILMS = (
    "Flexion-extension films: standing or seated lateral films in flexion and in extension; measure at the index level."
)
_BONE = "Bone quality: the lowest DEXA T-score of spine or hip; or CT attenuation at L1 in Hounsfield units."

HELP: dict[str, str] = {
    "age": "Age in whole years.",
    "activity_level": "Usual physical demand; high = heavy manual work or sport.",
    "bmi": "Body-mass index (kg/m²).",
    "smoker": "Smokes now.",
    "asa_grade": "ASA physical status: fitness for anaesthesia (1 healthy, 5 moribund).",
    "bone_density_t_score": _BONE + " Enter the lowest DEXA T-score.",
    "ct_l1_hounsfield": _BONE + " Use CT when DEXA is not available.",
    "psychosocial_yellow_flags": "Depression, anxiety, catastrophising or other psychosocial factors known to "
    "worsen outcomes of stabilising surgery.",
    "back_pain": "Axial low back pain.",
    "leg_pain": "Radicular leg pain or neurogenic claudication.",
    "symptom_duration_weeks": "How long the current symptoms have lasted.",
    "conservative_care_weeks": "Weeks of structured non-operative care tried (physiotherapy, analgesia, "
    "injections); cannot exceed the symptom duration.",
    "odi": "Oswestry Disability Index: 0 no disability, 100 bed-bound.",
    "motor_deficit": "Objective leg weakness. **severe**: a new or recent (within about 6 weeks) weakness below "
    "3/5, e.g. a new foot drop; **progressive**: getting worse; **stable**: a long-standing unchanged weakness, "
    "however marked. Severe and progressive are red flags.",
    "cauda_equina_syndrome": "Bladder or bowel dysfunction, saddle anaesthesia, bilateral leg symptoms: "
    "suspected or confirmed.",
    "suspected_infection": "E.g. fever, immunosuppression, intravenous drug use, recent spinal procedure.",
    "suspected_tumour": "E.g. a history of cancer, unexplained weight loss, night pain.",
    "suspected_fracture": "E.g. significant trauma, or minor trauma with osteoporosis or steroid use.",
    "index_level": "The symptomatic level (the lowest, when several).",
    "levels": "Number of symptomatic lumbar levels.",
    "slip_grade": "Meyerding grade: I 1-25 %, II 26-50 %, III 51-75 %, IV 76-100 %, V over 100 % "
    "(spondyloptosis); 0 = no slip.",
    "slip_type": "**none** only with grade 0; **degenerative** only with grade I or more; **isthmic** with grade 0 "
    "is a pars defect without a slip (spondylolysis). Isthmic refers to the symptomatic level: an incidental "
    "pars defect at another level is not entered.",
    "stenosis": "Worst canal or foraminal stenosis at the symptomatic level(s); grade the lateral recess and "
    "foramina by the same idea, root space left. **mild**: canal narrowed, roots not crowded; **moderate**: more "
    "than a quarter of the canal lost with nerve-root crowding; **severe**: roots tightly packed, little or no "
    "fluid around them.",
    "disc_herniation": "A disc herniation compressing a nerve root; **recurrent** = at a level operated on before.",
    "translation_mm": _FILMS + " Sagittal translation in mm.",
    "angulation_deg": _FILMS + " Change in angle in degrees.",
    "pfirrmann_grade": "Disc degeneration at the index level on MRI (1 normal to 5 collapsed).",
    "facet_arthropathy": "Facet joint arthropathy at the index level.",
    "scoliosis_cobb_deg": "Lumbar coronal Cobb angle in degrees.",
    "sagittal_imbalance": "Sagittal malalignment needing correction: sagittal vertical axis over 5 cm, or pelvic "
    "incidence minus lumbar lordosis over 10°.",
    "prior_fusion": "A previous lumbar fusion and its state. **pseudarthrosis**: a non-union believed to cause the "
    "current symptoms (an incidental non-union is coded solid); **hardware failure**: loss of fixation (screw "
    "loosening or breakage with symptoms or loss of correction).",
    "months_since_fusion": "Months since the previous fusion; only with a previous fusion.",
    "adjacent_segment_disease": "The symptoms come from the level next to a previous fusion; only with a previous "
    "fusion.",
    "prior_decompression": "A previous decompression or discectomy at the symptomatic level.",
    "prefers_motion_preservation": "The patient's stated wish; it shapes the discussion and is never an "
    "indication by itself.",
}

# The fields the contract requires: the form starts them empty, so none is assumed.
REQUIRED: tuple[str, ...] = tuple(n for n, info in PatientFactors.model_fields.items() if info.is_required())


def unit(name: str) -> str:
    """The unit shown beside a number, from the field's label ("mm", "°", "HU", "weeks")."""
    return field_label(name).partition(" (")[2].rstrip(")")


def help_text(name: str) -> str:
    """Help for one input: meaning, allowed range and what leaving it empty means."""
    spec = fields()[name]
    parts = [HELP.get(name, "")]
    if spec.kind in ("integer", "number"):
        shown = unit(name)
        parts.append(f"Allowed: {_num(spec.minimum)} to {_num(spec.maximum)}{' ' + shown if shown else ''}.")
    if spec.nullable:
        parts.append(f"Choose '{NOT_KNOWN}' (or leave empty) if it was not measured: it never counts as normal.")
    elif name in REQUIRED:
        parts.append("Required.")
    return " ".join(p for p in parts if p)


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def default_answer(spec: FieldSpec) -> Any:
    """What the form starts with: not known for a nullable field, the contract's default otherwise."""
    if spec.nullable:
        return None
    info = PatientFactors.model_fields[spec.name]
    return None if info.is_required() else info.default


def answers_to_factors(answers: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The patient dict from the form's answers, and the required fields not yet answered.

    An answer of None or NOT_KNOWN means not known and is left out. Numbers are
    given the field's JSON type (a whole-number float for an integer field is
    made an int), so strict validation sees what a JSON file would give.
    """
    patient: dict[str, Any] = {}
    for name, spec in fields().items():
        value = answers.get(name)
        if value is None or value == NOT_KNOWN:
            continue
        if spec.kind == "integer" and isinstance(value, float) and value.is_integer():
            value = int(value)
        elif spec.kind == "number" and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        patient[name] = value
    missing = [name for name in REQUIRED if name not in patient]
    return patient, missing
