# ruff: noqa: E501  (one table row per line keeps each case readable)
"""The table of cases: every rule in rules/ fires for one patient and not for a near one.

Each row names a rule, a patient for whom it fires and a NEAR patient (a minimal
change, just across the threshold where there is one) for whom it does not. The
patients are small patches over a few readable base patients, so each row is
obviously about its rule. Adding a rule to rules/ without a row here fails
`test_every_rule_in_rules_fires_in_some_case`; a row whose rule was renamed or
removed fails `test_every_row_names_a_rule_that_exists`.

A patch may name the jurisdiction the patient is assessed under (`"jurisdiction": "us"`;
'uk', the default, otherwise): it is a setting, never a patient field, and is passed to
the engine beside the factors.

A second table does the same for the findings of stage 1: every state each
finding can take (present, absent, unknown), with the boundary values of
clinical-reference.md section 3.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import variant

RULES_DIR = Path(__file__).resolve().parent.parent / "rules"

# ---- base patients ------------------------------------------------------------

# The shared base patient (tests/conftest.py): a 55-year-old with back and leg pain from
# moderate stenosis at L4-L5, no slip, 30 weeks of symptoms and 26 weeks of structured care;
# everything measured and unremarkable (normal bone density, stable on films, no deformity).
STENOSIS = variant("stenosis")

# The same patient with a stable grade I degenerative slip (films measured).
SLIP = variant("degenerative_slip")

# The same patient with a grade I degenerative slip and no flexion-extension films.
SLIP_NO_FILMS = variant("slip_no_films")

# The same patient with back pain only, no nerve compression, degenerated disc.
BACK_ONLY = variant("axial_pain")

# The same patient after a solid lumbar fusion 3 years ago.
FUSED = variant("fused")

# The same patient with bone quality not measured.
NO_BONE = variant("no_bone_density")


@dataclass(frozen=True)
class Case:
    rule: str
    base: dict[str, Any]
    fires: dict[str, Any]
    near: dict[str, Any] | None  # None: the rule's `when` is `always`
    label: str = ""

    @property
    def id(self) -> str:
        return f"{self.rule}[{self.label}]" if self.label else self.rule

    def patient(self, patch: dict[str, Any]) -> dict[str, Any]:
        return {**self.base, **patch}


def case(rule: str, base: dict[str, Any], fires: dict[str, Any], near: dict[str, Any] | None, label: str = "") -> Case:
    return Case(rule, base, fires, near, label)


ALWAYS = None
US = {"jurisdiction": "us"}  # assessed under the US setting (not a patient field)

# ---- the table ----------------------------------------------------------------

RED_FLAG_CASES = [
    case("red-flag.cauda-equina", STENOSIS, {"cauda_equina_syndrome": True}, {"cauda_equina_syndrome": False}),
    case("red-flag.severe-motor-deficit", STENOSIS, {"motor_deficit": "severe"}, {"motor_deficit": "stable"}),
    case("red-flag.progressive-motor-deficit", STENOSIS, {"motor_deficit": "progressive"}, {"motor_deficit": "stable"}),
    case("red-flag.infection", STENOSIS, {"suspected_infection": True}, {"suspected_infection": False}),
    case("red-flag.tumour", STENOSIS, {"suspected_tumour": True}, {"suspected_tumour": False}),
    case("red-flag.fracture", STENOSIS, {"suspected_fracture": True}, {"suspected_fracture": False}),
]

RULE_CASES = [
    # common to the surgical options
    case(
        "common.no-symptoms", STENOSIS, {"back_pain": False, "leg_pain": False}, {"back_pain": True, "leg_pain": False}
    ),
    case(
        "common.too-early",
        STENOSIS,
        {"symptom_duration_weeks": 5, "conservative_care_weeks": 5},
        {"symptom_duration_weeks": 6, "conservative_care_weeks": 5},
    ),
    case("common.under-12-weeks-care", STENOSIS, {"conservative_care_weeks": 11}, {"conservative_care_weeks": 12}),
    case("common.high-anaesthetic-risk", STENOSIS, {"asa_grade": 4}, {"asa_grade": 3}),
    case("common.high-anaesthetic-risk", STENOSIS, {"asa_grade": 4}, {"asa_grade": None}, "asa unknown"),
    case("common.asa-5", STENOSIS, {"asa_grade": 5}, {"asa_grade": 4}),
    case("common.minimal-disability", STENOSIS, {"odi": 19}, {"odi": 20}),
    case("common.minimal-disability", STENOSIS, {"odi": 19}, {"odi": None}, "odi unknown"),
    case(
        "common.psychosocial-yellow-flags",
        STENOSIS,
        {"psychosocial_yellow_flags": True},
        {"psychosocial_yellow_flags": False},
    ),
    case(
        "common.implant-state-unknown",
        STENOSIS,
        {"prior_motion_implant": "interlaminar_device"},
        {"prior_motion_implant": "interlaminar_device", "motion_implant_state": "working"},
    ),
    case(
        "common.implant-state-unknown",
        STENOSIS,
        {"prior_motion_implant": "disc_replacement"},
        {"prior_motion_implant": "none"},
        "no implant",
    ),
    # conservative care
    case("conservative.always-offered", STENOSIS, {}, ALWAYS),
    case("conservative.high-grade-slip", SLIP, {"slip_grade": 3}, {"slip_grade": 2}),
    case(
        "conservative.note-young-athlete-return-to-sport",
        STENOSIS,
        {"age": 25, "activity_level": "high", "slip_type": "isthmic"},
        {"age": 26, "activity_level": "high", "slip_type": "isthmic"},
    ),
    case(
        "conservative.note-young-athlete-return-to-sport",
        STENOSIS,
        {"age": 25, "activity_level": "high", "slip_grade": 1, "slip_type": "isthmic"},
        {"age": 25, "activity_level": "moderate", "slip_grade": 1, "slip_type": "isthmic"},
        "isthmic slip",
    ),
    # decompression alone
    case("decompression.nerve-compression", STENOSIS, {"stenosis": "moderate"}, {"stenosis": "mild"}),
    case(
        "decompression.nerve-compression",
        STENOSIS,
        {"stenosis": "none", "disc_herniation": "first"},
        {"stenosis": "none", "disc_herniation": "none"},
        "herniation",
    ),
    case("decompression.grade-1-degenerative-slip-with-nerve-compression", SLIP, {"slip_grade": 1}, {"slip_grade": 2}),
    case(
        "decompression.recurrent-herniation",
        STENOSIS,
        {"stenosis": "none", "disc_herniation": "recurrent"},
        {"stenosis": "none", "disc_herniation": "first"},
    ),
    case("decompression.weak-nerve-compression", STENOSIS, {"stenosis": "mild"}, {"stenosis": "none"}),
    case("decompression.dynamic-instability", STENOSIS, {"translation_mm": 3.0}, {"translation_mm": 2.9}),
    case(
        "decompression.dynamic-instability", STENOSIS, {"angulation_deg": 10.0}, {"angulation_deg": 9.9}, "angulation"
    ),
    case("decompression.stability-not-assessed", SLIP, {"translation_mm": None}, {"translation_mm": 2.9}),
    case("decompression.slip-grade-2", SLIP, {"slip_grade": 2}, {"slip_grade": 1}),
    case("decompression.pars-defect-without-slip", STENOSIS, {"slip_type": "isthmic"}, {"slip_type": "none"}),
    case("decompression.cobb-over-25", STENOSIS, {"scoliosis_cobb_deg": 25.1}, {"scoliosis_cobb_deg": 25.0}),
    case(
        "decompression.adjacent-segment-disease",
        FUSED,
        {"adjacent_segment_disease": True},
        {"adjacent_segment_disease": False},
    ),
    case(
        "decompression.prior-facetectomy",
        STENOSIS,
        {"prior_decompression": True, "prior_index_surgery": "facetectomy"},
        {"prior_decompression": True, "prior_index_surgery": "laminectomy"},
    ),
    case("decompression.axial-back-pain-only", STENOSIS, {"leg_pain": False}, {"leg_pain": True}),
    case("decompression.isthmic-slip", SLIP, {"slip_type": "isthmic"}, {"slip_type": "degenerative"}),
    case("decompression.high-grade-slip", SLIP, {"slip_grade": 3}, {"slip_grade": 2}),
    case("decompression.failed-previous-fusion", FUSED, {"prior_fusion": "pseudarthrosis"}, {"prior_fusion": "solid"}),
    case(
        "decompression.failed-previous-fusion",
        FUSED,
        {"prior_fusion": "hardware_failure"},
        {"prior_fusion": "solid"},
        "hardware failure",
    ),
    case(
        "decompression.failed-previous-implant",
        STENOSIS,
        {"prior_motion_implant": "interlaminar_device", "motion_implant_state": "mechanical_failure"},
        {"prior_motion_implant": "interlaminar_device", "motion_implant_state": "symptoms_at_implant"},
    ),
    # dynamic stabilisation
    case("dynamic.stenosis-no-slip-or-grade-1-degenerative", STENOSIS, {"stenosis": "moderate"}, {"stenosis": "mild"}),
    case(
        "dynamic.stenosis-no-slip-or-grade-1-degenerative",
        SLIP,
        {"slip_type": "degenerative"},
        {"slip_type": "isthmic"},
        "grade I degenerative",
    ),
    case(
        "dynamic.stenosis-no-slip-or-grade-1-degenerative",
        STENOSIS,
        {"leg_pain": True},
        {"leg_pain": False},
        "needs leg pain",
    ),
    case(
        "dynamic.recurrent-herniation",
        STENOSIS,
        {"stenosis": "none", "disc_herniation": "recurrent"},
        {"stenosis": "none", "disc_herniation": "first"},
    ),
    case(
        "dynamic.recurrent-herniation",
        STENOSIS,
        {"disc_herniation": "recurrent", "leg_pain": True},
        {"disc_herniation": "recurrent", "leg_pain": False},
        "needs leg pain",
    ),
    case("dynamic.age-over-65", STENOSIS, {"age": 66}, {"age": 65}),
    case("dynamic.smoking", STENOSIS, {"smoker": True}, {"smoker": False}),
    case("dynamic.smoking", STENOSIS, {"smoker": True}, {"smoker": None}, "smoking unknown"),
    case("dynamic.osteopenia", STENOSIS, {"bone_density_t_score": -1.1}, {"bone_density_t_score": -1.0}),
    case("dynamic.bone-quality-unknown-over-65", NO_BONE, {"age": 66}, {"age": 65}),
    case(
        "dynamic.bone-quality-unknown-over-65", NO_BONE, {"age": 66}, {"age": 66, "ct_l1_hounsfield": 150.0}, "CT known"
    ),
    case("dynamic.stability-not-assessed", SLIP, {"angulation_deg": None}, {"angulation_deg": 9.9}),
    case("dynamic.no-slip-instability-absent", STENOSIS, {"translation_mm": 2.9}, {"translation_mm": 3.0}),
    case("dynamic.below-device-label-care", STENOSIS, {"conservative_care_weeks": 25}, {"conservative_care_weeks": 26}),
    case(
        "dynamic.adjacent-segment-disease",
        FUSED,
        {"adjacent_segment_disease": True},
        {"adjacent_segment_disease": False},
    ),
    case(
        "dynamic.next-to-dynamic-implant",
        STENOSIS,
        {"prior_motion_implant": "dynamic_stabilisation", "motion_implant_state": "adjacent_level"},
        {"prior_motion_implant": "interlaminar_device", "motion_implant_state": "adjacent_level"},
    ),
    case(
        "dynamic.next-to-dynamic-implant",
        STENOSIS,
        {"prior_motion_implant": "dynamic_stabilisation", "motion_implant_state": "adjacent_level"},
        {"prior_motion_implant": "dynamic_stabilisation", "motion_implant_state": "working"},
        "working implant",
    ),
    case("dynamic.coflex-beyond-envelope", STENOSIS, {"translation_mm": 4.6}, {"translation_mm": 4.5}),
    case("dynamic.coflex-beyond-envelope", STENOSIS, {"angulation_deg": 15.1}, {"angulation_deg": 15.0}, "angulation"),
    case(
        "dynamic.coflex-severe-facet-arthropathy",
        STENOSIS,
        {"facet_arthropathy": "severe"},
        {"facet_arthropathy": "moderate"},
    ),
    case("dynamic.coflex-prior-decompression", STENOSIS, {"prior_decompression": True}, {"prior_decompression": False}),
    case(
        "dynamic.coflex-prior-decompression",
        STENOSIS,
        {"prior_decompression": True, "prior_index_surgery": "laminectomy"},
        {"prior_decompression": True, "prior_index_surgery": "laminotomy"},
        "laminectomy, not laminotomy",
    ),
    case(
        "dynamic.coflex-prior-decompression",
        STENOSIS,
        {"prior_decompression": True, "prior_index_surgery": "facetectomy"},
        {"prior_decompression": True, "prior_index_surgery": "discectomy"},
        "facetectomy, not discectomy",
    ),
    case(
        "dynamic.coflex-prior-decompression",
        STENOSIS,
        {"prior_decompression": True, "disc_herniation": "recurrent"},
        {"prior_decompression": False, "disc_herniation": "recurrent"},
        "a recurrent herniation alone",
    ),
    case("dynamic.coflex-no-flexion-relief", STENOSIS, {"flexion_relief": False}, {"flexion_relief": True}),
    case(
        "dynamic.coflex-no-flexion-relief",
        STENOSIS,
        {"flexion_relief": False},
        {"flexion_relief": None},
        "relief not asked",
    ),
    case(
        "dynamic.coflex-slips-at-two-levels",
        SLIP,
        {"levels": 2, "slip_levels": 2},
        {"levels": 2, "slip_levels": 1},
    ),
    case("dynamic.coflex-three-or-more-levels", STENOSIS, {"levels": 3}, {"levels": 2}),
    case("dynamic.coflex-l5-s1", STENOSIS, {"index_level": "L5-S1"}, {"index_level": "L4-L5"}),
    case("dynamic.coflex-pars-defect-without-slip", STENOSIS, {"slip_type": "isthmic"}, {"slip_type": "none"}),
    case("dynamic.coflex-axial-back-pain-only", STENOSIS, {"leg_pain": False}, {"leg_pain": True}),
    case("dynamic.dynesys-cobb-10-to-25", STENOSIS, {"scoliosis_cobb_deg": 10.1}, {"scoliosis_cobb_deg": 10.0}),
    case(
        "dynamic.dynesys-cobb-10-to-25",
        STENOSIS,
        {"scoliosis_cobb_deg": 25.0},
        {"scoliosis_cobb_deg": 25.1},
        "upper bound",
    ),
    case(
        "dynamic.dynesys-cobb-10-to-25",
        STENOSIS,
        {"scoliosis_cobb_deg": 15.0},
        {"scoliosis_cobb_deg": 15.0, **US},
        "not in the USA",
    ),
    case(
        "dynamic.dynesys-prior-facetectomy",
        STENOSIS,
        {"prior_decompression": True, "prior_index_surgery": "facetectomy"},
        {"prior_decompression": True, "prior_index_surgery": "laminectomy"},
    ),
    case(
        "dynamic.dynesys-prior-facetectomy",
        STENOSIS,
        {"prior_decompression": True, "prior_index_surgery": "facetectomy"},
        {"prior_decompression": True, "prior_index_surgery": "facetectomy", **US},
        "not in the USA",
    ),
    case(
        "dynamic.neither-device-fits",
        STENOSIS,
        {"scoliosis_cobb_deg": 15.0, "index_level": "L5-S1"},
        {"scoliosis_cobb_deg": 15.0, "index_level": "L4-L5"},
    ),
    case(
        "dynamic.neither-device-fits",
        STENOSIS,
        {"scoliosis_cobb_deg": 15.0, "index_level": "L5-S1"},
        {"scoliosis_cobb_deg": 10.0, "index_level": "L5-S1"},
        "needs the Dynesys condition",
    ),
    case("dynamic.bmi-over-40", STENOSIS, {"bmi": 40.1}, {"bmi": 40.0}),
    case("dynamic.slip-grade-2-or-more", SLIP, {"slip_grade": 2}, {"slip_grade": 1}),
    case("dynamic.isthmic-slip", SLIP, {"slip_type": "isthmic"}, {"slip_type": "degenerative"}),
    case("dynamic.osteoporosis", STENOSIS, {"bone_density_t_score": -2.5}, {"bone_density_t_score": -2.4}),
    case("dynamic.osteoporosis", NO_BONE, {"ct_l1_hounsfield": 109.9}, {"ct_l1_hounsfield": 110.0}, "CT"),
    case("dynamic.cobb-over-25", STENOSIS, {"scoliosis_cobb_deg": 25.1}, {"scoliosis_cobb_deg": 25.0}),
    case("dynamic.failed-previous-fusion", FUSED, {"prior_fusion": "hardware_failure"}, {"prior_fusion": "solid"}),
    case(
        "dynamic.failed-previous-implant",
        STENOSIS,
        {"prior_motion_implant": "interlaminar_device", "motion_implant_state": "mechanical_failure"},
        {"prior_motion_implant": "interlaminar_device", "motion_implant_state": "working"},
    ),
    case(
        "dynamic.failed-previous-implant",
        STENOSIS,
        {"prior_motion_implant": "dynamic_stabilisation", "motion_implant_state": "symptoms_at_implant"},
        {"prior_motion_implant": "dynamic_stabilisation", "motion_implant_state": "adjacent_level"},
        "painful intact implant",
    ),
    case("dynamic.us-coflex-only", STENOSIS, {"index_level": "L5-S1", **US}, {"index_level": "L5-S1"}),
    case(
        "dynamic.us-coflex-only",
        STENOSIS,
        {"index_level": "L5-S1", **US},
        {"index_level": "L4-L5", **US},
        "no Coflex condition",
    ),
    case("dynamic.note-us-regulatory", STENOSIS, {}, US),
    case(
        "dynamic.note-motion-preservation",
        STENOSIS,
        {"prefers_motion_preservation": True},
        {"prefers_motion_preservation": False},
    ),
    # fusion (primary)
    case("fusion.problem-at-previous-fusion", FUSED, {"prior_fusion": "pseudarthrosis"}, {"prior_fusion": "solid"}),
    case(
        "fusion.problem-at-previous-fusion",
        FUSED,
        {"adjacent_segment_disease": True},
        {"adjacent_segment_disease": False},
        "adjacent segment",
    ),
    case(
        "fusion.problem-at-previous-fusion",
        FUSED,
        {"prior_fusion": "hardware_failure"},
        {"prior_fusion": "solid"},
        "hardware failure",
    ),
    case(
        "fusion.problem-at-previous-implant",
        STENOSIS,
        {"prior_motion_implant": "dynamic_stabilisation", "motion_implant_state": "mechanical_failure"},
        {"prior_motion_implant": "dynamic_stabilisation", "motion_implant_state": "working"},
    ),
    case(
        "fusion.problem-at-previous-implant",
        STENOSIS,
        {"prior_motion_implant": "disc_replacement", "motion_implant_state": "symptoms_at_implant"},
        {"prior_motion_implant": "disc_replacement", "motion_implant_state": "adjacent_level"},
        "painful intact disc replacement",
    ),
    case(
        "fusion.problem-at-previous-implant",
        STENOSIS,
        {"prior_motion_implant": "dynamic_stabilisation", "motion_implant_state": "adjacent_level"},
        {"prior_motion_implant": "interlaminar_device", "motion_implant_state": "adjacent_level"},
        "next to a Dynesys type only",
    ),
    case("fusion.slip-grade-2-or-more", SLIP, {"slip_grade": 2}, {"slip_grade": 1}),
    case(
        "fusion.isthmic-slip",
        STENOSIS,
        {"slip_grade": 1, "slip_type": "isthmic"},
        {"slip_grade": 0, "slip_type": "isthmic"},
    ),
    case(
        "fusion.instability-with-nerve-compression-or-slip", STENOSIS, {"translation_mm": 3.0}, {"translation_mm": 2.9}
    ),
    case(
        "fusion.instability-with-nerve-compression-or-slip",
        STENOSIS,
        {"translation_mm": 3.0, "stenosis": "moderate"},
        {"translation_mm": 3.0, "stenosis": "mild"},
        "needs nerve compression or a slip",
    ),
    case(
        "fusion.instability-with-nerve-compression-or-slip",
        BACK_ONLY,
        {"slip_grade": 1, "slip_type": "degenerative", "angulation_deg": 10.0},
        {"slip_grade": 1, "slip_type": "degenerative", "angulation_deg": 9.9},
        "slip without nerve compression",
    ),
    case(
        "fusion.grade-1-degenerative-slip-with-nerve-compression", SLIP, {"stenosis": "moderate"}, {"stenosis": "mild"}
    ),
    case("fusion.grade-1-degenerative-slip-stable", SLIP, {"translation_mm": 2.9}, {"translation_mm": 3.0}),
    case(
        "fusion.grade-1-degenerative-slip-stable",
        SLIP,
        {"translation_mm": 2.9},
        {"translation_mm": None},
        "films missing",
    ),
    case(
        "fusion.grade-1-degenerative-slip-stability-not-assessed",
        SLIP,
        {"translation_mm": None},
        {"translation_mm": 2.9},
    ),
    case("fusion.deformity-with-symptoms", STENOSIS, {"scoliosis_cobb_deg": 25.1}, {"scoliosis_cobb_deg": 25.0}),
    case(
        "fusion.deformity-with-symptoms",
        STENOSIS,
        {"sagittal_imbalance": True},
        {"sagittal_imbalance": False},
        "sagittal imbalance",
    ),
    case(
        "fusion.deformity-with-symptoms",
        STENOSIS,
        {"scoliosis_cobb_deg": 30.0, "back_pain": True, "leg_pain": False},
        {"scoliosis_cobb_deg": 30.0, "back_pain": False, "leg_pain": False},
        "needs symptoms",
    ),
    case("fusion.recurrent-disc-herniation", STENOSIS, {"disc_herniation": "recurrent"}, {"disc_herniation": "first"}),
    case(
        "fusion.prior-facetectomy",
        STENOSIS,
        {"prior_decompression": True, "prior_index_surgery": "facetectomy"},
        {"prior_decompression": True, "prior_index_surgery": "facetectomy", "stenosis": "mild"},
    ),
    case(
        "fusion.prior-facetectomy",
        STENOSIS,
        {"prior_decompression": True, "prior_index_surgery": "facetectomy"},
        {"prior_decompression": True, "prior_index_surgery": "laminectomy"},
        "laminectomy",
    ),
    case("fusion.us-axial-one-or-two-level-ddd", BACK_ONLY, US, {}),
    case(
        "fusion.us-axial-one-or-two-level-ddd",
        BACK_ONLY,
        {**US, "pfirrmann_grade": 3},
        {**US, "pfirrmann_grade": 2},
        "Pfirrmann",
    ),
    case("fusion.us-axial-one-or-two-level-ddd", BACK_ONLY, {**US, "levels": 2}, {**US, "levels": 3}, "levels"),
    case(
        "fusion.us-axial-one-or-two-level-ddd",
        BACK_ONLY,
        {**US, "stenosis": "none"},
        {**US, "stenosis": "mild"},
        "stenosis",
    ),
    case(
        "fusion.us-axial-one-or-two-level-ddd",
        BACK_ONLY,
        {**US, "slip_grade": 0, "slip_type": "none"},
        {**US, "slip_grade": 1, "slip_type": "degenerative"},
        "slip",
    ),
    case("fusion.us-nass-translation-over-2mm", STENOSIS, {**US, "translation_mm": 2.1}, {**US, "translation_mm": 2.0}),
    case("fusion.us-nass-translation-over-2mm", STENOSIS, {**US, "translation_mm": 2.1}, {"translation_mm": 2.1}, "uk"),
    case(
        "fusion.us-nass-translation-over-2mm",
        STENOSIS,
        {**US, "translation_mm": 2.1},
        {**US, "translation_mm": None},
        "films not taken",
    ),
    case(
        "fusion.us-nass-translation-over-2mm",
        STENOSIS,
        {**US, "translation_mm": 2.9},
        {**US, "translation_mm": 3.0},
        "instability from 3 mm",
    ),
    case(
        "fusion.us-nass-translation-over-2mm",
        STENOSIS,
        {**US, "translation_mm": 2.5, "stenosis": "moderate"},
        {**US, "translation_mm": 2.5, "stenosis": "mild"},
        "needs moderate stenosis",
    ),
    case("fusion.smoking", STENOSIS, {"smoker": True}, {"smoker": False}),
    case("fusion.osteoporosis", STENOSIS, {"bone_density_t_score": -2.5}, {"bone_density_t_score": -2.4}),
    case("fusion.bone-quality-unknown-over-65", NO_BONE, {"age": 66}, {"age": 65}),
    case("fusion.age-80-or-more", STENOSIS, {"age": 80}, {"age": 79}),
    case("fusion.three-or-more-levels", STENOSIS, {"levels": 3}, {"levels": 2}),
    case("fusion.retrolisthesis", SLIP, {"slip_direction": "retro"}, {"slip_direction": "antero"}),
    case("fusion.retrolisthesis", SLIP, {"slip_direction": "retro"}, {"slip_direction": None}, "direction unknown"),
    case("fusion.stenosis-without-slip-or-instability", STENOSIS, {"translation_mm": 2.9}, {"translation_mm": 3.0}),
    case(
        "fusion.stenosis-without-slip-or-instability",
        STENOSIS,
        {"stenosis": "mild"},
        {"stenosis": "none"},
        "any stenosis",
    ),
    case(
        "fusion.stenosis-without-slip-or-instability",
        STENOSIS,
        {"disc_herniation": "none"},
        {"disc_herniation": None},
        "previous surgery unknown",
    ),
    case(
        "fusion.stenosis-without-slip-or-instability",
        STENOSIS,
        {"slip_type": "none"},
        {"slip_type": "isthmic"},
        "pars defect",
    ),
    case(
        "fusion.stenosis-without-slip-or-instability",
        STENOSIS,
        {"sagittal_imbalance": False},
        {"sagittal_imbalance": None},
        "deformity unknown",
    ),
    case(
        "fusion.stenosis-without-slip-or-instability",
        STENOSIS,
        {**US, "translation_mm": 2.0},
        {**US, "translation_mm": 2.1},
        "USA: not over 2 mm (NASS)",
    ),
    case(
        "fusion.stenosis-without-slip-or-instability",
        STENOSIS,
        {**US, "translation_mm": None},
        {**US, "translation_mm": 2.1},
        "USA: films not taken",
    ),
    case(
        "fusion.stenosis-without-slip-or-instability",
        STENOSIS,
        {**US, "translation_mm": 2.5, "stenosis": "mild"},
        {**US, "translation_mm": 2.5, "stenosis": "moderate"},
        "USA: mild stenosis",
    ),
    case("fusion.axial-back-pain-only-no-slip", BACK_ONLY, {"leg_pain": False}, {"leg_pain": True}),
    case(
        "fusion.axial-back-pain-only-no-slip",
        BACK_ONLY,
        {"scoliosis_cobb_deg": 25.0},
        {"scoliosis_cobb_deg": 25.1},
        "deformity",
    ),
    case("fusion.axial-back-pain-only-no-slip", BACK_ONLY, {}, US, "not in the USA"),
    case(
        "fusion.axial-back-pain-only-no-slip",
        BACK_ONLY,
        {"prior_motion_implant": "interlaminar_device", "motion_implant_state": "working"},
        {"prior_motion_implant": "interlaminar_device", "motion_implant_state": "adjacent_level"},
        "not next to an implant",
    ),
    # revision surgery
    case("revision.no-previous-fusion", STENOSIS, {"prior_fusion": "none"}, {"prior_fusion": "solid"}),
    case(
        "revision.no-previous-fusion",
        STENOSIS,
        {"prior_motion_implant": "none"},
        {"prior_motion_implant": "interlaminar_device"},
        "an implant",
    ),
    case(
        "revision.implant-mechanical-failure",
        STENOSIS,
        {"prior_motion_implant": "dynamic_stabilisation", "motion_implant_state": "mechanical_failure"},
        {"prior_motion_implant": "dynamic_stabilisation", "motion_implant_state": "symptoms_at_implant"},
    ),
    case(
        "revision.symptoms-at-intact-implant",
        STENOSIS,
        {"prior_motion_implant": "disc_replacement", "motion_implant_state": "symptoms_at_implant"},
        {"prior_motion_implant": "disc_replacement", "motion_implant_state": "working"},
    ),
    case(
        "revision.next-to-dynamic-implant",
        STENOSIS,
        {"prior_motion_implant": "dynamic_stabilisation", "motion_implant_state": "adjacent_level"},
        {"prior_motion_implant": "dynamic_stabilisation", "motion_implant_state": "adjacent_level", "stenosis": "mild"},
    ),
    case(
        "revision.next-to-dynamic-implant",
        STENOSIS,
        {"prior_motion_implant": "dynamic_stabilisation", "motion_implant_state": "adjacent_level"},
        {"prior_motion_implant": "interlaminar_device", "motion_implant_state": "adjacent_level"},
        "next to a Dynesys type only",
    ),
    case(
        "revision.next-to-dynamic-implant",
        STENOSIS,
        {
            "prior_motion_implant": "dynamic_stabilisation",
            "motion_implant_state": "adjacent_level",
            "stenosis": "mild",
            "translation_mm": 3.0,
        },
        {
            "prior_motion_implant": "dynamic_stabilisation",
            "motion_implant_state": "adjacent_level",
            "stenosis": "mild",
            "translation_mm": 2.9,
        },
        "instability",
    ),
    case(
        "revision.working-implant",
        STENOSIS,
        {"prior_motion_implant": "interlaminar_device", "motion_implant_state": "working"},
        {"prior_motion_implant": "interlaminar_device", "motion_implant_state": "adjacent_level"},
    ),
    case(
        "revision.working-implant",
        STENOSIS,
        {"prior_motion_implant": "interlaminar_device", "motion_implant_state": "working"},
        {
            "prior_motion_implant": "interlaminar_device",
            "motion_implant_state": "working",
            "prior_fusion": "solid",
            "months_since_fusion": 36,
        },
        "after a fusion",
    ),
    case(
        "revision.symptomatic-non-union",
        FUSED,
        {"prior_fusion": "pseudarthrosis", "months_since_fusion": 12},
        {"prior_fusion": "pseudarthrosis", "months_since_fusion": 11},
    ),
    case(
        "revision.pseudarthrosis-date-unknown",
        FUSED,
        {"prior_fusion": "pseudarthrosis", "months_since_fusion": None},
        {"prior_fusion": "pseudarthrosis", "months_since_fusion": 12},
    ),
    case("revision.hardware-failure", FUSED, {"prior_fusion": "hardware_failure"}, {"prior_fusion": "solid"}),
    case(
        "revision.adjacent-segment-disease",
        FUSED,
        {"adjacent_segment_disease": True},
        {"adjacent_segment_disease": False},
    ),
    case(
        "revision.adjacent-segment-disease",
        FUSED,
        {"adjacent_segment_disease": True, "stenosis": "moderate"},
        {"adjacent_segment_disease": True, "stenosis": "mild"},
        "needs nerve compression or instability",
    ),
    case(
        "revision.adjacent-segment-disease",
        FUSED,
        {"adjacent_segment_disease": True, "stenosis": "mild", "translation_mm": 3.0},
        {"adjacent_segment_disease": True, "stenosis": "mild", "translation_mm": 2.9},
        "instability",
    ),
    case(
        "revision.non-union-too-early",
        FUSED,
        {"prior_fusion": "pseudarthrosis", "months_since_fusion": 11},
        {"prior_fusion": "pseudarthrosis", "months_since_fusion": 12},
    ),
    case("revision.smoking", FUSED, {"smoker": True}, {"smoker": False}),
    case("revision.osteoporosis", FUSED, {"bone_density_t_score": -2.5}, {"bone_density_t_score": -2.4}),
    case(
        "revision.bone-quality-unknown-over-65",
        FUSED,
        {"age": 66, "bone_density_t_score": None},
        {"age": 65, "bone_density_t_score": None},
    ),
    case("revision.age-80-or-more", FUSED, {"age": 80}, {"age": 79}),
    case(
        "revision.solid-fusion-without-adjacent-disease",
        FUSED,
        {"adjacent_segment_disease": False},
        {"adjacent_segment_disease": True},
    ),
    case(
        "revision.solid-fusion-without-adjacent-disease",
        FUSED,
        {"prior_motion_implant": "interlaminar_device", "motion_implant_state": "working"},
        {"prior_motion_implant": "interlaminar_device", "motion_implant_state": "adjacent_level"},
        "an implant problem",
    ),
    case("revision.note-exclude-infection", FUSED, {"prior_fusion": "hardware_failure"}, {"prior_fusion": "solid"}),
    case(
        "revision.note-exclude-infection",
        STENOSIS,
        {"prior_motion_implant": "dynamic_stabilisation", "motion_implant_state": "mechanical_failure"},
        {"prior_motion_implant": "dynamic_stabilisation", "motion_implant_state": "adjacent_level"},
        "failed implant",
    ),
    case(
        "revision.note-disc-replacement-revision",
        STENOSIS,
        {"prior_motion_implant": "disc_replacement", "motion_implant_state": "mechanical_failure"},
        {"prior_motion_implant": "disc_replacement", "motion_implant_state": "working"},
    ),
    case(
        "revision.note-disc-replacement-revision",
        STENOSIS,
        {"prior_motion_implant": "disc_replacement"},
        {"prior_motion_implant": "interlaminar_device"},
        "state unknown",
    ),
    case(
        "revision.note-non-union-less-predictable",
        FUSED,
        {"prior_fusion": "pseudarthrosis"},
        {"prior_fusion": "hardware_failure"},
    ),
    # disc replacement
    case(
        "disc-replacement.one-or-two-level-disc-degeneration", BACK_ONLY, {"pfirrmann_grade": 3}, {"pfirrmann_grade": 2}
    ),
    case("disc-replacement.one-or-two-level-disc-degeneration", BACK_ONLY, {"age": 60}, {"age": 61}, "age 60"),
    case("disc-replacement.one-or-two-level-disc-degeneration", BACK_ONLY, {"levels": 2}, {"levels": 3}, "two levels"),
    case(
        "disc-replacement.one-or-two-level-disc-degeneration",
        BACK_ONLY,
        {"leg_pain": False},
        {"leg_pain": True, "stenosis": "moderate"},
        "nerve compression",
    ),
    case("disc-replacement.back-pain", STENOSIS, {"back_pain": True}, {"back_pain": False}),
    case("disc-replacement.back-pain", STENOSIS, {"back_pain": True}, {"back_pain": True, **US}, "not in the USA"),
    case("disc-replacement.age-over-60", STENOSIS, {"age": 61}, {"age": 60}),
    case("disc-replacement.three-or-more-levels", STENOSIS, {"levels": 3}, {"levels": 2}),
    case("disc-replacement.slip-or-pars-defect", SLIP, {"slip_grade": 2}, {"slip_grade": 1}),
    case(
        "disc-replacement.slip-or-pars-defect", SLIP, {"slip_type": "isthmic"}, {"slip_type": "degenerative"}, "isthmic"
    ),
    case(
        "disc-replacement.slip-or-pars-defect", STENOSIS, {"slip_type": "isthmic"}, {"slip_type": "none"}, "pars defect"
    ),
    case("disc-replacement.stenosis-moderate-or-severe", STENOSIS, {"stenosis": "moderate"}, {"stenosis": "mild"}),
    case(
        "disc-replacement.facet-arthropathy", STENOSIS, {"facet_arthropathy": "moderate"}, {"facet_arthropathy": "mild"}
    ),
    case("disc-replacement.low-bone-density", STENOSIS, {"bone_density_t_score": -1.1}, {"bone_density_t_score": -1.0}),
    case("disc-replacement.low-bone-density", NO_BONE, {"ct_l1_hounsfield": 109.9}, {"ct_l1_hounsfield": 110.0}, "CT"),
    case(
        "disc-replacement.any-previous-fusion",
        STENOSIS,
        {"prior_fusion": "solid", "months_since_fusion": 36},
        {"prior_fusion": "none"},
    ),
    case("disc-replacement.cobb-over-10", STENOSIS, {"scoliosis_cobb_deg": 10.1}, {"scoliosis_cobb_deg": 10.0}),
    case("disc-replacement.bmi-over-40", STENOSIS, {"bmi": 40.1}, {"bmi": 40.0}),
    case("disc-replacement.translation-over-5", STENOSIS, {"translation_mm": 5.1}, {"translation_mm": 5.0}),
    case("disc-replacement.nerve-compression", STENOSIS, {"stenosis": "moderate"}, {"stenosis": "mild"}),
    case("disc-replacement.upper-lumbar-level", STENOSIS, {"index_level": "L2-L3"}, {"index_level": "L3-L4"}),
    case(
        "disc-replacement.upper-lumbar-level",
        STENOSIS,
        {"index_level": "L1-L2"},
        {"index_level": None},
        "level unknown",
    ),
    case(
        "disc-replacement.claudication",
        STENOSIS,
        {"leg_symptom_pattern": "claudication"},
        {"leg_symptom_pattern": "radicular"},
    ),
    case(
        "disc-replacement.claudication",
        STENOSIS,
        {"leg_symptom_pattern": "both"},
        {"leg_symptom_pattern": None},
        "both, or not known",
    ),
    case(
        "disc-replacement.prior-laminectomy",
        STENOSIS,
        {"prior_decompression": True, "prior_index_surgery": "laminectomy"},
        {"prior_decompression": True, "prior_index_surgery": "discectomy"},
    ),
    case(
        "disc-replacement.prior-laminectomy",
        STENOSIS,
        {"prior_decompression": True, "prior_index_surgery": "facetectomy"},
        {"prior_decompression": True, "prior_index_surgery": None},
        "facetectomy",
    ),
    case(
        "disc-replacement.failed-previous-implant",
        STENOSIS,
        {"prior_motion_implant": "disc_replacement", "motion_implant_state": "symptoms_at_implant"},
        {"prior_motion_implant": "disc_replacement", "motion_implant_state": "adjacent_level"},
    ),
    case(
        "disc-replacement.below-label-care", STENOSIS, {"conservative_care_weeks": 25}, {"conservative_care_weeks": 26}
    ),
    case(
        "disc-replacement.prior-discectomy",
        STENOSIS,
        {"prior_decompression": True, "prior_index_surgery": "discectomy"},
        {"prior_decompression": True, "prior_index_surgery": "laminectomy"},
    ),
    case(
        "disc-replacement.prior-discectomy",
        STENOSIS,
        {"prior_decompression": True, "prior_index_surgery": "laminotomy"},
        {"prior_decompression": False, "prior_index_surgery": "none"},
        "laminotomy",
    ),
    case(
        "disc-replacement.prior-discectomy",
        STENOSIS,
        {"prior_decompression": True},
        {"prior_decompression": False},
        "type unknown",
    ),
    case(
        "disc-replacement.prior-discectomy",
        STENOSIS,
        {"disc_herniation": "recurrent"},
        {"disc_herniation": None},
        "recurrent herniation",
    ),
    case("disc-replacement.us-minimal-disability", STENOSIS, {**US, "odi": 39}, {**US, "odi": 40}),
    case("disc-replacement.us-minimal-disability", STENOSIS, {**US, "odi": 39}, {"odi": 39}, "uk"),
    case("disc-replacement.note-ipg306", STENOSIS, {}, US),
    case("disc-replacement.note-uk-nice", STENOSIS, US, {}),
    case("disc-replacement.note-us-coverage", STENOSIS, US, {}),
    case("disc-replacement.note-us-approval", STENOSIS, {}, ALWAYS),
    case("disc-replacement.note-trial-evidence", STENOSIS, {}, ALWAYS),
]

ALL_CASES = RED_FLAG_CASES + RULE_CASES


# ---- what rules/ holds, read from the YAML itself -------------------------------


def _load(name: str) -> dict[str, Any]:
    return yaml.safe_load((RULES_DIR / name).read_text(encoding="utf-8"))


def option_rules_in_yaml() -> dict[str, dict[str, Any]]:
    out = {}
    for path in sorted((RULES_DIR / "options").glob("*.yaml")):
        for rule in yaml.safe_load(path.read_text(encoding="utf-8"))["rules"]:
            out[rule["id"]] = rule
    return out


def red_flags_in_yaml() -> dict[str, dict[str, Any]]:
    return {f["id"]: f for f in _load("red_flags.yaml")["red_flags"]}


def fallback_ids_in_yaml() -> set[str]:
    return {f["id"] for f in _load("fallback.yaml")["fallback"]}


def findings_in_yaml() -> dict[str, dict[str, Any]]:
    return {f["id"]: f for f in _load("findings.yaml")["findings"]}


def all_rule_ids_in_yaml() -> set[str]:
    return set(option_rules_in_yaml()) | set(red_flags_in_yaml()) | fallback_ids_in_yaml()


def _fired(aid, patient: dict[str, Any], rule: str) -> bool:
    result = explain(aid, patient).result
    is_red_flag = rule in {c.spec.id for c in aid.knowledge.red_flags}
    return rule in result.red_flags if is_red_flag else rule in result.fired


_EXPLAINED: dict[str, Any] = {}


def explain(aid, patient: dict[str, Any]):
    """The explained assessment; a `jurisdiction` key in the patient is the setting, not a factor.
    Each patient is explained once in the module (the row tests and the coverage test share it)."""
    key = json.dumps(patient, sort_keys=True)
    if key not in _EXPLAINED:
        factors = {k: v for k, v in patient.items() if k != "jurisdiction"}
        _EXPLAINED[key] = aid.explain(factors, patient.get("jurisdiction"))
    return _EXPLAINED[key]


# ---- the rows -----------------------------------------------------------------


@pytest.mark.parametrize("row", ALL_CASES, ids=[c.id for c in ALL_CASES])
def test_rule_fires_for_its_patient(aid, row: Case):
    assert _fired(aid, row.patient(row.fires), row.rule), f"{row.rule} did not fire for its patient"


NEAR_CASES = [c for c in ALL_CASES if c.near is not None]


@pytest.mark.parametrize("row", NEAR_CASES, ids=[c.id for c in NEAR_CASES])
def test_rule_does_not_fire_for_the_near_patient(aid, row: Case):
    assert not _fired(aid, row.patient(row.near), row.rule), f"{row.rule} fired for the near patient {row.near}"


def test_every_conditional_rule_has_a_near_case():
    """Only a rule whose `when` is `always` may go without a patient it must not fire for."""
    rules = {**option_rules_in_yaml(), **red_flags_in_yaml()}
    with_near = {c.rule for c in NEAR_CASES}
    conditional = {rid for rid, r in rules.items() if str(r["when"]).strip() != "always"}
    assert sorted(conditional - with_near) == []
    always = {rid for rid, r in rules.items() if str(r["when"]).strip() == "always"}
    assert sorted(c.rule for c in ALL_CASES if c.near is None and c.rule not in always) == []


def test_every_row_names_a_rule_that_exists():
    known = all_rule_ids_in_yaml()
    stale = sorted({c.rule for c in ALL_CASES} - known)
    assert stale == [], f"rows for rules that are not in rules/: {stale}"


def test_every_rule_in_rules_fires_in_some_case(aid):
    """Adding a rule to rules/ without a row in this table fails here."""
    seen: set[str] = set()
    fallback = fallback_ids_in_yaml()
    for row in ALL_CASES:
        for patch in (row.fires, row.near):
            if patch is None:
                continue
            e = explain(aid, row.patient(patch))
            seen |= set(e.result.fired) | set(e.result.red_flags)
            for option in e.assessment.options.values():
                seen |= {r.rule_id for r in option.reasons if r.rule_id in fallback}
    never = sorted(all_rule_ids_in_yaml() - seen)
    assert never == [], f"rules in rules/ that fire in none of the cases: {never}"


def test_rules_yaml_and_compiled_knowledge_agree(aid):
    """The table is checked against the YAML; the engine must hold the same rules."""
    k = aid.knowledge
    assert {c.spec.id for c in k.rules} == set(option_rules_in_yaml())
    assert {c.spec.id for c in k.red_flags} == set(red_flags_in_yaml())
    assert {k.fallback.spec.id} == fallback_ids_in_yaml()


# ---- findings: every state each finding can take ---------------------------------

P, A, U = "present", "absent", "unknown"

FINDING_CASES = [
    # dynamic instability: >= 3 mm or >= 10 degrees; absent with both measured or with no slip
    ("dynamic_instability", P, STENOSIS, {"translation_mm": 3.0}, "translation 3.0 reaches 3 mm"),
    ("dynamic_instability", P, STENOSIS, {"angulation_deg": 10.0}, "angulation 10.0 reaches 10 deg"),
    ("dynamic_instability", P, SLIP_NO_FILMS, {"angulation_deg": 10.0}, "one measurement reaching is enough"),
    ("dynamic_instability", A, STENOSIS, {"translation_mm": 2.9, "angulation_deg": 9.9}, "both just under"),
    ("dynamic_instability", A, STENOSIS, {"translation_mm": None, "angulation_deg": None}, "no slip, no films"),
    ("dynamic_instability", A, STENOSIS, {"translation_mm": None, "angulation_deg": 9.9}, "no slip, one film"),
    ("dynamic_instability", U, SLIP_NO_FILMS, {}, "slip, no films"),
    ("dynamic_instability", U, SLIP_NO_FILMS, {"angulation_deg": 9.9}, "slip, translation missing"),
    ("dynamic_instability", U, SLIP_NO_FILMS, {"translation_mm": 2.9}, "slip, angulation missing"),
    # instability beyond the interlaminar envelope: > 4.5 mm or > 15 degrees
    ("beyond_interlaminar_envelope", P, STENOSIS, {"translation_mm": 4.6}, "translation over 4.5"),
    ("beyond_interlaminar_envelope", P, STENOSIS, {"angulation_deg": 15.1}, "angulation over 15"),
    ("beyond_interlaminar_envelope", A, STENOSIS, {"translation_mm": 4.5, "angulation_deg": 15.0}, "at the limits"),
    (
        "beyond_interlaminar_envelope",
        A,
        STENOSIS,
        {"translation_mm": None, "angulation_deg": None},
        "no slip, no films",
    ),
    ("beyond_interlaminar_envelope", U, SLIP_NO_FILMS, {}, "slip, no films"),
    ("beyond_interlaminar_envelope", U, SLIP_NO_FILMS, {"translation_mm": 4.5}, "slip, angulation missing"),
    # stability not assessed
    ("stability_not_assessed", P, SLIP_NO_FILMS, {}, "slip without films"),
    ("stability_not_assessed", A, STENOSIS, {"translation_mm": None, "angulation_deg": None}, "no slip, no films"),
    ("stability_not_assessed", A, SLIP, {}, "slip with films"),
    ("stability_not_assessed", A, SLIP_NO_FILMS, {"translation_mm": 3.0}, "slip, instability shown on one film"),
    # osteoporosis: T-score <= -2.5 or CT L1 < 110 HU
    ("osteoporosis", P, STENOSIS, {"bone_density_t_score": -2.5}, "T-score -2.5"),
    ("osteoporosis", P, NO_BONE, {"ct_l1_hounsfield": 109.9}, "CT under 110"),
    ("osteoporosis", P, STENOSIS, {"bone_density_t_score": 0.0, "ct_l1_hounsfield": 100.0}, "CT shows it, T normal"),
    ("osteoporosis", A, STENOSIS, {"bone_density_t_score": -2.4}, "T-score -2.4, CT not needed"),
    ("osteoporosis", A, NO_BONE, {"ct_l1_hounsfield": 110.0}, "CT 110"),
    ("osteoporosis", U, NO_BONE, {}, "neither measured"),
    # osteopenia: -2.5 < T < -1.0, unless CT shows osteoporosis
    ("osteopenia", P, STENOSIS, {"bone_density_t_score": -1.1}, "T-score -1.1"),
    ("osteopenia", P, STENOSIS, {"bone_density_t_score": -2.4}, "T-score -2.4"),
    ("osteopenia", A, STENOSIS, {"bone_density_t_score": -1.0}, "T-score -1.0"),
    ("osteopenia", A, STENOSIS, {"bone_density_t_score": -2.5}, "T-score -2.5 is osteoporosis"),
    ("osteopenia", A, STENOSIS, {"bone_density_t_score": -1.5, "ct_l1_hounsfield": 100.0}, "CT shows osteoporosis"),
    ("osteopenia", U, NO_BONE, {}, "neither measured"),
    ("osteopenia", U, NO_BONE, {"ct_l1_hounsfield": 110.0}, "only CT, not osteoporotic"),
    # bone quality unknown
    ("bone_quality_unknown", P, NO_BONE, {}, "neither measured"),
    ("bone_quality_unknown", A, NO_BONE, {"bone_density_t_score": 0.0}, "T-score known"),
    ("bone_quality_unknown", A, NO_BONE, {"ct_l1_hounsfield": 150.0}, "CT known"),
    # slips
    ("high_grade_slip", P, SLIP, {"slip_grade": 3}, "grade III"),
    ("high_grade_slip", A, SLIP, {"slip_grade": 2}, "grade II"),
    ("isthmic_slip", P, SLIP, {"slip_type": "isthmic"}, "isthmic grade I"),
    ("isthmic_slip", A, STENOSIS, {"slip_type": "isthmic"}, "pars defect without slip"),
    ("isthmic_slip", A, SLIP, {}, "degenerative grade I"),
    ("pars_defect_without_slip", P, STENOSIS, {"slip_type": "isthmic"}, "isthmic grade 0"),
    ("pars_defect_without_slip", A, SLIP, {"slip_type": "isthmic"}, "isthmic grade I"),
    ("pars_defect_without_slip", A, STENOSIS, {}, "no defect"),
    # nerve compression
    ("nerve_compression", P, STENOSIS, {"stenosis": "moderate"}, "moderate stenosis"),
    ("nerve_compression", P, STENOSIS, {"stenosis": "none", "disc_herniation": "first"}, "first herniation"),
    ("nerve_compression", A, STENOSIS, {"leg_pain": False, "stenosis": "severe"}, "no leg pain"),
    ("nerve_compression", A, STENOSIS, {"stenosis": "mild", "disc_herniation": "none"}, "mild stenosis only"),
    ("nerve_compression", U, STENOSIS, {"stenosis": None, "disc_herniation": "none"}, "stenosis not graded"),
    ("nerve_compression", U, STENOSIS, {"stenosis": "mild", "disc_herniation": None}, "herniation not known"),
    ("nerve_compression", U, STENOSIS, {"stenosis": None, "disc_herniation": None}, "neither known"),
    # weak nerve compression
    ("weak_nerve_compression", P, STENOSIS, {"stenosis": "mild"}, "leg pain, mild stenosis, no herniation"),
    ("weak_nerve_compression", A, STENOSIS, {"stenosis": "mild", "leg_pain": False}, "no leg pain"),
    ("weak_nerve_compression", A, STENOSIS, {"stenosis": "moderate"}, "moderate stenosis"),
    ("weak_nerve_compression", A, STENOSIS, {"stenosis": "mild", "disc_herniation": "first"}, "herniation"),
    ("weak_nerve_compression", U, STENOSIS, {"stenosis": "mild", "disc_herniation": None}, "herniation not known"),
    ("weak_nerve_compression", U, STENOSIS, {"stenosis": None}, "stenosis not graded"),
    # symptoms
    ("axial_back_pain_only", P, STENOSIS, {"leg_pain": False}, "back pain only"),
    ("axial_back_pain_only", A, STENOSIS, {}, "back and leg pain"),
    ("axial_back_pain_only", A, STENOSIS, {"back_pain": False}, "leg pain only"),
    ("no_symptoms", P, STENOSIS, {"back_pain": False, "leg_pain": False}, "no pain"),
    ("no_symptoms", A, STENOSIS, {"leg_pain": False}, "back pain"),
    # deformity: Cobb over 25 or sagittal imbalance
    ("deformity", P, STENOSIS, {"scoliosis_cobb_deg": 25.1}, "Cobb 25.1"),
    ("deformity", P, STENOSIS, {"scoliosis_cobb_deg": None, "sagittal_imbalance": True}, "sagittal imbalance"),
    ("deformity", A, STENOSIS, {"scoliosis_cobb_deg": 25.0, "sagittal_imbalance": False}, "Cobb 25.0"),
    ("deformity", U, STENOSIS, {"scoliosis_cobb_deg": None}, "Cobb not measured"),
    ("deformity", U, STENOSIS, {"sagittal_imbalance": None}, "sagittal balance not assessed"),
    # time and care
    ("too_early_for_surgery", P, STENOSIS, {"symptom_duration_weeks": 5, "conservative_care_weeks": 5}, "5 weeks"),
    ("too_early_for_surgery", A, STENOSIS, {"symptom_duration_weeks": 6, "conservative_care_weeks": 5}, "6 weeks"),
    ("under_12_weeks_care", P, STENOSIS, {"conservative_care_weeks": 11}, "11 weeks"),
    ("under_12_weeks_care", A, STENOSIS, {"conservative_care_weeks": 12}, "12 weeks"),
    ("below_device_label_care", P, STENOSIS, {"conservative_care_weeks": 25}, "25 weeks"),
    ("below_device_label_care", A, STENOSIS, {"conservative_care_weeks": 26}, "26 weeks"),
    ("minimal_disability", P, STENOSIS, {"odi": 19}, "ODI 19"),
    ("minimal_disability", A, STENOSIS, {"odi": 20}, "ODI 20"),
    ("minimal_disability", U, STENOSIS, {"odi": None}, "ODI not measured"),
    # previous surgery
    ("symptomatic_non_union", P, FUSED, {"prior_fusion": "pseudarthrosis", "months_since_fusion": 12}, "12 months"),
    ("symptomatic_non_union", A, FUSED, {"prior_fusion": "pseudarthrosis", "months_since_fusion": 11}, "11 months"),
    ("symptomatic_non_union", A, FUSED, {}, "solid fusion"),
    ("symptomatic_non_union", A, STENOSIS, {}, "no fusion"),
    (
        "symptomatic_non_union",
        U,
        FUSED,
        {"prior_fusion": "pseudarthrosis", "months_since_fusion": None},
        "date unknown",
    ),
    ("previous_surgery_at_level", P, STENOSIS, {"prior_decompression": True}, "previous decompression"),
    ("previous_surgery_at_level", P, STENOSIS, {"disc_herniation": "recurrent"}, "recurrent herniation"),
    (
        "previous_surgery_at_level",
        P,
        STENOSIS,
        {"prior_decompression": True, "disc_herniation": None},
        "decompression, herniation not known",
    ),
    ("previous_surgery_at_level", A, STENOSIS, {"disc_herniation": "first"}, "first herniation"),
    ("previous_surgery_at_level", U, STENOSIS, {"disc_herniation": None}, "herniation not known"),
    # anaesthetic risk
    ("high_anaesthetic_risk", P, STENOSIS, {"asa_grade": 4}, "ASA 4"),
    ("high_anaesthetic_risk", A, STENOSIS, {"asa_grade": 3}, "ASA 3"),
    ("high_anaesthetic_risk", U, STENOSIS, {"asa_grade": None}, "ASA not known"),
]


@pytest.mark.parametrize(
    "finding, state, base, patch",
    [row[:4] for row in FINDING_CASES],
    ids=[f"{f}={s}[{label}]" for f, s, _, _, label in FINDING_CASES],
)
def test_finding_takes_the_state_section_3_gives(aid, finding, state, base, patch):
    e = aid.explain({**base, **patch})
    assert e.result.findings[finding] == state
    shown = {f.id: f.state for f in e.assessment.findings}
    assert shown[finding] == state


def test_every_finding_state_is_covered_by_a_case():
    """Each finding in findings.yaml, in each state it can take, has at least one case."""
    needed = set()
    for fid, spec in findings_in_yaml().items():
        for state in (P, A, U):
            if state in spec:
                needed.add((fid, state))
    covered = {(f, s) for f, s, *_ in FINDING_CASES}
    assert sorted(needed - covered) == []
    assert sorted(covered - needed) == [], "a case asserts a finding or state that findings.yaml does not define"
