"""Words for people: field labels with units, option and verdict names, readable conditions."""

from __future__ import annotations

from decision_aid import conditions as cond

FIELD_LABELS: dict[str, str] = {
    "age": "age (years)",
    "activity_level": "activity level",
    "bmi": "BMI",
    "smoker": "smoker",
    "asa_grade": "ASA grade",
    "bone_density_t_score": "DEXA T-score",
    "ct_l1_hounsfield": "CT L1 attenuation (HU)",
    "back_pain": "back pain",
    "leg_pain": "leg pain",
    "symptom_duration_weeks": "symptom duration (weeks)",
    "conservative_care_weeks": "conservative care (weeks)",
    "odi": "ODI",
    "motor_deficit": "motor deficit",
    "cauda_equina_syndrome": "cauda equina syndrome",
    "suspected_infection": "suspected infection",
    "suspected_tumour": "suspected tumour",
    "suspected_fracture": "suspected fracture",
    "index_level": "index level",
    "levels": "symptomatic levels",
    "slip_grade": "slip grade",
    "slip_type": "slip type",
    "stenosis": "stenosis",
    "disc_herniation": "disc herniation",
    "translation_mm": "translation on flexion-extension (mm)",
    "angulation_deg": "angulation on flexion-extension (°)",
    "pfirrmann_grade": "Pfirrmann grade",
    "facet_arthropathy": "facet arthropathy",
    "scoliosis_cobb_deg": "Cobb angle (°)",
    "sagittal_imbalance": "sagittal imbalance",
    "prior_fusion": "previous fusion",
    "months_since_fusion": "months since fusion",
    "adjacent_segment_disease": "adjacent segment disease",
    "prior_decompression": "previous decompression at the level",
    "psychosocial_yellow_flags": "psychosocial yellow flags",
    "prefers_motion_preservation": "prefers motion preservation",
}

OPTION_NAMES: dict[str, str] = {
    "conservative_care": "Conservative care",
    "decompression_alone": "Decompression alone",
    "dynamic_stabilisation": "Dynamic stabilisation",
    "fusion": "Fusion",
    "revision_surgery": "Revision surgery",
    "disc_replacement": "Disc replacement",
}

VERDICT_WORDS: dict[str, str] = {
    "worth_discussing": "worth discussing",
    "discuss_with_caution": "discuss with caution",
    "not_advised": "not advised",
    "not_applicable": "not applicable",
}

_ROMAN = {0: "0 (no slip)", 1: "I", 2: "II", 3: "III", 4: "IV", 5: "V"}


def field_label(name: str) -> str:
    return FIELD_LABELS.get(name, name.replace("_", " "))


def describe_condition(text_or_expr: str | cond.Expr) -> str:
    """A rule condition as readable text, e.g. "slip grade is II or more"."""
    expr = cond.parse(text_or_expr) if isinstance(text_or_expr, str) else text_or_expr
    return cond.describe(_with_roman_grades(expr), _CONDITION_LABELS)


_CONDITION_LABELS = {
    **{k: v.split(" (")[0] for k, v in FIELD_LABELS.items()},
    "translation_mm": "translation (mm)",
    "angulation_deg": "angulation (°)",
    "scoliosis_cobb_deg": "Cobb angle (°)",
    "ct_l1_hounsfield": "CT L1 attenuation (HU)",
    "symptom_duration_weeks": "symptom duration (weeks)",
    "conservative_care_weeks": "conservative care (weeks)",
}


def _with_roman_grades(expr: cond.Expr) -> cond.Expr:
    if isinstance(expr, (cond.All, cond.Any_)):
        return type(expr)(tuple(_with_roman_grades(p) for p in expr.parts))
    if isinstance(expr, cond.Compare) and expr.field == "slip_grade":
        return cond.Compare(expr.field, expr.op, _ROMAN.get(expr.value, expr.value))
    return expr


def value_text(name: str, value: object) -> str:
    """A factor's value in words: "not known" for null, yes/no, grade II, "L4-L5"."""
    if value is None:
        return "not known"
    if name == "slip_grade":
        return _ROMAN.get(value, str(value))
    return cond._show(value)
