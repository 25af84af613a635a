"""Verdicts for realistic patients, with the expected verdicts taken from
/work/shared/clinical-reference.md and contract.md (not from engine output).

Each scenario states the clinical picture; the expected verdicts follow from the
reference's rules and the one aggregation (any excludes: not_applicable; else any
opposes: not_advised; else supports with cautions: discuss_with_caution; else
supports: worth_discussing; no supports: not_advised, "nothing indicates it").
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from decision_aid import OPTIONS, DecisionAid, assess, default_aid
from decision_aid.samples import random_patients
from tests.conftest import variant

WD = "worth_discussing"
DWC = "discuss_with_caution"
NADV = "not_advised"
NA = "not_applicable"

SURGICAL = ("decompression_alone", "dynamic_stabilisation", "fusion", "revision_surgery", "disc_replacement")
PRIMARY_SURGICAL = ("decompression_alone", "dynamic_stabilisation", "fusion", "disc_replacement")
EFFECT_ORDER = {"excludes": 0, "opposes": 1, "cautions": 2, "supports": 3}
FALLBACK = default_aid().knowledge.fallback.spec.id

# A 62-year-old with back pain and neurogenic claudication from severe stenosis at
# L4-L5, no slip, 40 weeks of symptoms after 26 weeks of physiotherapy, ODI 42,
# fit for anaesthesia, non-smoker, normal bone density, stable films, no deformity
# (the shared base patient's "severe_stenosis" variant, tests/conftest.py).
TYPICAL = variant("severe_stenosis")


def patient(**changes: Any) -> dict[str, Any]:
    return {**TYPICAL, **changes}


STABLE_GRADE_1_SLIP = patient(slip_grade=1, slip_type="degenerative", translation_mm=2.0, angulation_deg=5.0)
ISTHMIC_GRADE_2 = patient(age=40, slip_grade=2, slip_type="isthmic", stenosis="moderate", translation_mm=2.0)
SOLID_FUSION = patient(prior_fusion="solid", months_since_fusion=60)


def verdicts(p: dict[str, Any]) -> dict[str, str]:
    return {o: a.verdict for o, a in assess(p).options.items()}


def reason_ids(p: dict[str, Any], option: str, effect: str | None = None) -> list[str]:
    return [r.rule_id for r in assess(p).options[option].reasons if effect is None or r.effect == effect]


# ---- verdict scenarios ----------------------------------------------------------

SCENARIOS: list[tuple[str, dict[str, Any], dict[str, str]]] = [
    (
        "stable grade I degenerative slip, severe stenosis, leg pain: decompression alone "
        "(non-inferior in NORDSTEN/SSSS), fusion supported but cautioned",
        STABLE_GRADE_1_SLIP,
        {
            "conservative_care": WD,
            "decompression_alone": WD,
            "fusion": DWC,
            "dynamic_stabilisation": WD,
            "revision_surgery": NA,
            "disc_replacement": NADV,
        },
    ),
    (
        "grade I degenerative slip with dynamic instability: fusion without the stable-slip caution, "
        "decompression cautioned",
        patient(slip_grade=1, slip_type="degenerative", translation_mm=4.0),
        {
            "conservative_care": WD,
            "decompression_alone": DWC,
            "fusion": WD,
            "revision_surgery": NA,
            "disc_replacement": NADV,
        },
    ),
    (
        "isthmic grade II slip in a 40-year-old: fusion indicated, decompression alone and dynamic opposed",
        ISTHMIC_GRADE_2,
        {
            "conservative_care": WD,
            "decompression_alone": NADV,
            "fusion": WD,
            "dynamic_stabilisation": NADV,
            "revision_surgery": NA,
            "disc_replacement": NADV,
        },
    ),
    (
        "high-grade (III) isthmic slip: conservative care cautioned, fusion indicated",
        patient(age=40, slip_grade=3, slip_type="isthmic", stenosis="moderate", translation_mm=2.0),
        {
            "conservative_care": DWC,
            "decompression_alone": NADV,
            "fusion": WD,
            "dynamic_stabilisation": NADV,
            "revision_surgery": NA,
            "disc_replacement": NADV,
        },
    ),
    (
        "grade II degenerative slip: decompression cautioned, fusion supported, dynamic opposed",
        patient(slip_grade=2, slip_type="degenerative", translation_mm=2.0),
        {"decompression_alone": DWC, "fusion": WD, "dynamic_stabilisation": NADV},
    ),
    (
        "stenosis with no slip, stable on films: fusion adds nothing (Swedish Spinal Stenosis Study)",
        TYPICAL,
        {
            "conservative_care": WD,
            "decompression_alone": WD,
            "fusion": NADV,
            "dynamic_stabilisation": DWC,
            "revision_surgery": NA,
            "disc_replacement": NADV,
        },
    ),
    (
        "stenosis with no slip but translation 4 mm: fusion supported for instability with nerve compression",
        patient(translation_mm=4.0),
        {"decompression_alone": DWC, "fusion": WD, "dynamic_stabilisation": WD},
    ),
    (
        "stenosis with no slip, translation 5 mm beyond the interlaminar envelope: dynamic cautioned (Dynesys remains)",
        patient(translation_mm=5.0),
        {"dynamic_stabilisation": DWC, "fusion": WD},
    ),
    (
        "mild stenosis with leg pain: weak indication for decompression, fusion opposed, dynamic not indicated",
        patient(stenosis="mild"),
        {"conservative_care": WD, "decompression_alone": DWC, "fusion": NADV, "dynamic_stabilisation": NADV},
    ),
    (
        "first disc herniation with sciatica, 10 weeks of symptoms, 8 weeks of physiotherapy",
        patient(
            age=38,
            back_pain=False,
            stenosis="none",
            disc_herniation="first",
            symptom_duration_weeks=10,
            conservative_care_weeks=8,
            facet_arthropathy="none",
            pfirrmann_grade=3,
        ),
        {
            "conservative_care": WD,
            "decompression_alone": DWC,
            "fusion": NADV,
            "dynamic_stabilisation": NADV,
            "revision_surgery": NA,
            "disc_replacement": NADV,
        },
    ),
    (
        "recurrent disc herniation at an operated level: repeat discectomy, fusion supported with caution",
        patient(age=45, stenosis="none", disc_herniation="recurrent", prior_decompression=True),
        {
            "conservative_care": WD,
            "decompression_alone": WD,
            "fusion": DWC,
            "revision_surgery": NA,
            "disc_replacement": NADV,
        },
    ),
    (
        "degenerative scoliosis, Cobb 30, with stenosis and leg pain",
        patient(scoliosis_cobb_deg=30.0),
        {"decompression_alone": DWC, "fusion": DWC, "dynamic_stabilisation": NADV, "disc_replacement": NADV},
    ),
    (
        "sagittal imbalance with back pain only: fusion for deformity, with caution",
        patient(leg_pain=False, stenosis="none", sagittal_imbalance=True),
        {"decompression_alone": NADV, "fusion": DWC},
    ),
    (
        "Cobb exactly 25: not a deformity, decompression not cautioned for the curve",
        patient(scoliosis_cobb_deg=25.0),
        {"decompression_alone": WD, "fusion": NADV},
    ),
    (
        "axial back pain only, degenerated disc, no slip: no operation is advised",
        patient(age=45, leg_pain=False, stenosis="none", facet_arthropathy="none"),
        {
            "conservative_care": WD,
            "decompression_alone": NADV,
            "fusion": NADV,
            "dynamic_stabilisation": NADV,
            "revision_surgery": NA,
            "disc_replacement": NADV,
        },
    ),
    (
        "imaging findings without symptoms: no operation",
        patient(back_pain=False, leg_pain=False, slip_grade=1, slip_type="degenerative"),
        {
            "conservative_care": WD,
            "decompression_alone": NADV,
            "fusion": NADV,
            "dynamic_stabilisation": NADV,
            "revision_surgery": NA,
            "disc_replacement": NADV,
        },
    ),
    (
        "symptomatic non-union 18 months after fusion: revision",
        patient(prior_fusion="pseudarthrosis", months_since_fusion=18),
        {
            "conservative_care": WD,
            "decompression_alone": NADV,
            "fusion": NA,
            "dynamic_stabilisation": NADV,
            "revision_surgery": WD,
            "disc_replacement": NADV,
        },
    ),
    (
        "suspected non-union with the fusion date unknown: revision with caution",
        patient(prior_fusion="pseudarthrosis"),
        {"fusion": NA, "revision_surgery": DWC, "decompression_alone": NADV},
    ),
    (
        "suspected non-union 6 months after fusion: too early to call, nothing supports revision yet",
        patient(prior_fusion="pseudarthrosis", months_since_fusion=6),
        {"fusion": NA, "revision_surgery": NADV},
    ),
    (
        "hardware failure: revision, primary fusion not applicable",
        patient(prior_fusion="hardware_failure", months_since_fusion=30),
        {
            "fusion": NA,
            "revision_surgery": WD,
            "decompression_alone": NADV,
            "dynamic_stabilisation": NADV,
            "disc_replacement": NADV,
        },
    ),
    (
        "adjacent segment disease with stenosis above a solid fusion: revision (extension), not primary fusion",
        patient(prior_fusion="solid", months_since_fusion=96, adjacent_segment_disease=True),
        {
            "conservative_care": WD,
            "fusion": NA,
            "revision_surgery": WD,
            "decompression_alone": DWC,
            "dynamic_stabilisation": DWC,
            "disc_replacement": NADV,
        },
    ),
    (
        "solid old fusion, new stenosis at another level: primary options stay applicable, nothing to revise",
        SOLID_FUSION,
        {
            "conservative_care": WD,
            "decompression_alone": WD,
            "fusion": NADV,
            "dynamic_stabilisation": DWC,
            "revision_surgery": NADV,
            "disc_replacement": NADV,
        },
    ),
    (
        "solid old fusion, isthmic grade II slip at another level: primary fusion worth discussing",
        {**ISTHMIC_GRADE_2, "prior_fusion": "solid", "months_since_fusion": 60},
        {"fusion": WD, "revision_surgery": NADV},
    ),
    (
        "symptoms for 5 weeks: too early for any elective operation",
        {**STABLE_GRADE_1_SLIP, "symptom_duration_weeks": 5, "conservative_care_weeks": 4},
        {
            "conservative_care": WD,
            "decompression_alone": NADV,
            "fusion": NADV,
            "dynamic_stabilisation": NADV,
            "revision_surgery": NA,
            "disc_replacement": NADV,
        },
    ),
    (
        "symptoms for 6 weeks, 4 weeks of care: no longer too early, but cautioned for short care",
        {**STABLE_GRADE_1_SLIP, "symptom_duration_weeks": 6, "conservative_care_weeks": 4},
        {"decompression_alone": DWC, "fusion": DWC, "dynamic_stabilisation": DWC},
    ),
    (
        "ASA 5: every operation opposed",
        {**STABLE_GRADE_1_SLIP, "asa_grade": 5},
        {"conservative_care": WD, "decompression_alone": NADV, "fusion": NADV, "dynamic_stabilisation": NADV},
    ),
    (
        "ASA 4: operations cautioned",
        {**STABLE_GRADE_1_SLIP, "asa_grade": 4},
        {"decompression_alone": DWC, "fusion": DWC, "dynamic_stabilisation": DWC},
    ),
    (
        "ODI 19 (minimal disability): operations cautioned",
        {**STABLE_GRADE_1_SLIP, "odi": 19},
        {"decompression_alone": DWC, "dynamic_stabilisation": DWC},
    ),
    (
        "ODI 20: not minimal disability",
        {**STABLE_GRADE_1_SLIP, "odi": 20},
        {"decompression_alone": WD, "dynamic_stabilisation": WD},
    ),
    (
        "psychosocial yellow flags: stabilising operations cautioned, decompression never",
        {**STABLE_GRADE_1_SLIP, "psychosocial_yellow_flags": True},
        {"decompression_alone": WD, "dynamic_stabilisation": DWC, "fusion": DWC},
    ),
    (
        "smoker with isthmic grade II slip: fusion cautioned (non-union doubles)",
        {**ISTHMIC_GRADE_2, "smoker": True},
        {"fusion": DWC},
    ),
    (
        "osteoporosis (T-score -3.0) with a stable grade I slip: dynamic opposed, fusion cautioned",
        {**STABLE_GRADE_1_SLIP, "bone_density_t_score": -3.0},
        {"dynamic_stabilisation": NADV, "fusion": DWC, "decompression_alone": WD, "disc_replacement": NADV},
    ),
    (
        "osteoporosis by CT (L1 105 HU, no DEXA) with isthmic grade II slip: fusion cautioned",
        {**ISTHMIC_GRADE_2, "bone_density_t_score": None, "ct_l1_hounsfield": 105.0},
        {"fusion": DWC},
    ),
    (
        "osteopenia (T-score -1.8) with a stable grade I slip: dynamic cautioned",
        {**STABLE_GRADE_1_SLIP, "bone_density_t_score": -1.8},
        {"dynamic_stabilisation": DWC},
    ),
    (
        "BMI 41: dynamic opposed (outside Coflex label and Dynesys trials)",
        {**STABLE_GRADE_1_SLIP, "bmi": 41.0},
        {"dynamic_stabilisation": NADV, "decompression_alone": WD},
    ),
    (
        "age 80 with isthmic grade II slip: fusion cautioned",
        {**ISTHMIC_GRADE_2, "age": 80},
        {"fusion": DWC},
    ),
    (
        "age 79 with isthmic grade II slip: fusion not cautioned for age",
        {**ISTHMIC_GRADE_2, "age": 79, "bone_density_t_score": -0.5},
        {"fusion": WD},
    ),
    (
        "three levels, stable grade I slip: fusion cautioned, dynamic cautioned (Coflex out, Dynesys remains)",
        {**STABLE_GRADE_1_SLIP, "levels": 3},
        {"fusion": DWC, "dynamic_stabilisation": DWC, "decompression_alone": WD},
    ),
    (
        "age 66, stable grade I slip: dynamic cautioned for age",
        {**STABLE_GRADE_1_SLIP, "age": 66},
        {"dynamic_stabilisation": DWC, "decompression_alone": WD},
    ),
    (
        "stable motor deficit is recorded and changes no verdict",
        {**STABLE_GRADE_1_SLIP, "motor_deficit": "stable"},
        {
            "conservative_care": WD,
            "decompression_alone": WD,
            "fusion": DWC,
            "dynamic_stabilisation": WD,
            "revision_surgery": NA,
            "disc_replacement": NADV,
        },
    ),
]


@pytest.mark.parametrize("p, expected", [s[1:] for s in SCENARIOS], ids=[s[0] for s in SCENARIOS])
def test_scenario_verdicts(p, expected):
    got = verdicts(p)
    assert {o: got[o] for o in expected} == expected


# ---- red flags -------------------------------------------------------------------

RED_FLAG_INPUTS = {
    "cauda_equina_syndrome": {"cauda_equina_syndrome": True},
    "severe_motor_deficit": {"motor_deficit": "severe"},
    "progressive_motor_deficit": {"motor_deficit": "progressive"},
    "suspected_infection": {"suspected_infection": True},
    "suspected_tumour": {"suspected_tumour": True},
    "suspected_fracture": {"suspected_fracture": True},
}


@pytest.mark.parametrize("flag", list(RED_FLAG_INPUTS), ids=list(RED_FLAG_INPUTS))
def test_each_red_flag_gives_urgent_referral_and_stops_every_option(aid, flag):
    e = aid.explain({**STABLE_GRADE_1_SLIP, **RED_FLAG_INPUTS[flag]})
    a = e.assessment
    assert a.urgent_referral is True
    assert len(e.result.red_flags) == 1
    assert e.result.fired == (), "no elective rule may run when a red flag is present"
    assert len(a.alerts) == 1 and a.alerts[0].message
    for option in OPTIONS:
        oa = a.options[option]
        assert oa.verdict == NA, option
        assert [(r.rule_id, r.effect) for r in oa.reasons] == [(e.result.red_flags[0], "excludes")], option


def test_alert_for_cauda_equina_names_the_emergency_treatment():
    a = assess({**TYPICAL, "cauda_equina_syndrome": True})
    assert "emergency decompression" in a.alerts[0].message.lower()
    assert "mri" in a.alerts[0].message.lower()


def test_several_red_flags_give_one_excludes_reason_and_one_alert_each_sorted(aid):
    e = aid.explain(
        {
            **TYPICAL,
            "cauda_equina_syndrome": True,
            "suspected_infection": True,
            "suspected_fracture": True,
            "motor_deficit": "progressive",
        }
    )
    a = e.assessment
    assert a.urgent_referral is True
    assert len(e.result.red_flags) == 4
    codes = [al.code for al in a.alerts]
    assert len(codes) == 4 and codes == sorted(codes)
    for option in OPTIONS:
        reasons = a.options[option].reasons
        assert a.options[option].verdict == NA
        assert all(r.effect == "excludes" for r in reasons)
        ids = [r.rule_id for r in reasons]
        assert ids == sorted(ids) and sorted(ids) == sorted(e.result.red_flags)
        assert a.options[option].notes == []


def test_no_red_flag_means_no_urgent_referral_and_no_alerts():
    a = assess(STABLE_GRADE_1_SLIP)
    assert a.urgent_referral is False and a.alerts == []


# ---- previous fusion ----------------------------------------------------------------


@pytest.mark.parametrize(
    "problem",
    [
        {"prior_fusion": "pseudarthrosis", "months_since_fusion": 18},
        {"prior_fusion": "hardware_failure", "months_since_fusion": 18},
        {"prior_fusion": "solid", "months_since_fusion": 96, "adjacent_segment_disease": True},
    ],
    ids=["pseudarthrosis", "hardware_failure", "adjacent_segment_disease"],
)
def test_problem_at_or_next_to_a_fusion_makes_primary_fusion_not_applicable_with_only_excludes(problem):
    a = assess({**TYPICAL, **problem})
    assert a.options["fusion"].verdict == NA
    assert [r.effect for r in a.options["fusion"].reasons] == ["excludes"]
    assert a.options["fusion"].notes == []
    assert a.options["revision_surgery"].verdict != NA
    assert "supports" in {r.effect for r in a.options["revision_surgery"].reasons}


def test_adjacent_segment_disease_after_solid_fusion_is_supported_for_revision():
    p = patient(prior_fusion="solid", months_since_fusion=96, adjacent_segment_disease=True)
    assert "revision.adjacent-segment-disease" in reason_ids(p, "revision_surgery", "supports")
    assert verdicts(p)["fusion"] == NA


@pytest.mark.parametrize(
    "p",
    [TYPICAL, STABLE_GRADE_1_SLIP, ISTHMIC_GRADE_2, patient(leg_pain=False)],
    ids=["stenosis", "grade I slip", "isthmic grade II", "back pain only"],
)
def test_without_a_previous_fusion_revision_is_not_applicable_with_only_excludes(p):
    oa = assess(p).options["revision_surgery"]
    assert oa.verdict == NA
    assert oa.reasons and all(r.effect == "excludes" for r in oa.reasons)
    assert FALLBACK not in [r.rule_id for r in oa.reasons]


def test_solid_fusion_elsewhere_leaves_primary_options_applicable_and_revision_not_advised():
    a = assess(SOLID_FUSION)
    for option in ("conservative_care", "decompression_alone", "dynamic_stabilisation", "fusion"):
        assert a.options[option].verdict != NA, option
        assert "excludes" not in {r.effect for r in a.options[option].reasons}, option
    assert a.options["revision_surgery"].verdict == NADV
    assert "opposes" in {r.effect for r in a.options["revision_surgery"].reasons}


def test_pseudarthrosis_with_unknown_date_cautions_revision_and_asks_for_the_date():
    a = assess(patient(prior_fusion="pseudarthrosis"))
    assert a.options["revision_surgery"].verdict == DWC
    missing = {m.field: m.options for m in a.missing_information}
    assert "revision_surgery" in missing.get("months_since_fusion", [])


def test_pseudarthrosis_date_known_removes_the_caution():
    assert verdicts(patient(prior_fusion="pseudarthrosis", months_since_fusion=12))["revision_surgery"] == WD
    assert verdicts(patient(prior_fusion="pseudarthrosis", months_since_fusion=11))["revision_surgery"] == NADV


# ---- axial back pain and disc replacement ---------------------------------------------

AXIAL = patient(age=45, leg_pain=False, stenosis="none", facet_arthropathy="none", pfirrmann_grade=4)


def test_axial_back_pain_only_advises_against_fusion_and_decompression_and_keeps_conservative_care():
    v = verdicts(AXIAL)
    assert v["fusion"] == NADV
    assert v["decompression_alone"] == NADV
    assert v["conservative_care"] == WD
    assert v["disc_replacement"] == NADV
    assert "fusion.axial-back-pain-only-no-slip" in reason_ids(AXIAL, "fusion", "opposes")
    assert "decompression.axial-back-pain-only" in reason_ids(AXIAL, "decompression_alone", "opposes")


def test_disc_replacement_is_explained_but_not_advised_even_when_its_indication_fits():
    oa = assess(AXIAL).options["disc_replacement"]
    assert oa.verdict == NADV
    effects = {r.rule_id: r.effect for r in oa.reasons}
    assert effects.get("disc-replacement.one-or-two-level-disc-degeneration") == "supports"
    assert effects.get("disc-replacement.back-pain") == "opposes"


def test_disc_replacement_is_never_recommended_for_any_patient():
    recommended = []
    for p in random_patients(300, seed=7) + [s[1] for s in SCENARIOS] + [AXIAL]:
        v = assess(p).options["disc_replacement"].verdict
        if v in (WD, DWC):
            recommended.append((p, v))
    assert recommended == []


# ---- dynamic stabilisation: the two device types ----------------------------------------

COFLEX_CONDITION = {"index_level": "L5-S1"}  # outside the Coflex label; Dynesys remains
DYNESYS_CONDITION = {"scoliosis_cobb_deg": 15.0}  # Cobb over 10 up to 25: outside Dynesys IFU; Coflex remains


def test_dynamic_without_device_conditions_is_worth_discussing():
    assert verdicts(STABLE_GRADE_1_SLIP)["dynamic_stabilisation"] == WD


@pytest.mark.parametrize(
    "condition, rule",
    [(COFLEX_CONDITION, "dynamic.coflex-l5-s1"), (DYNESYS_CONDITION, "dynamic.dynesys-cobb-10-to-25")],
    ids=["coflex only", "dynesys only"],
)
def test_one_device_condition_alone_cautions_dynamic(condition, rule):
    p = {**STABLE_GRADE_1_SLIP, **condition}
    assert verdicts(p)["dynamic_stabilisation"] == DWC
    assert rule in reason_ids(p, "dynamic_stabilisation", "cautions")
    assert "dynamic.neither-device-fits" not in reason_ids(p, "dynamic_stabilisation")


def test_a_coflex_and_a_dynesys_condition_together_oppose_dynamic():
    p = {**STABLE_GRADE_1_SLIP, **COFLEX_CONDITION, **DYNESYS_CONDITION}
    assert verdicts(p)["dynamic_stabilisation"] == NADV
    assert "dynamic.neither-device-fits" in reason_ids(p, "dynamic_stabilisation", "opposes")


@pytest.mark.parametrize(
    "coflex",
    [{"facet_arthropathy": "severe"}, {"prior_decompression": True}, {"levels": 3}, {"translation_mm": 4.6}],
    ids=["severe facets", "prior decompression", "three levels", "beyond envelope"],
)
def test_any_coflex_condition_with_the_dynesys_condition_opposes_dynamic(coflex):
    p = {**STABLE_GRADE_1_SLIP, **coflex, **DYNESYS_CONDITION}
    assert verdicts(p)["dynamic_stabilisation"] == NADV


def test_device_specific_cautions_name_the_device_that_remains(aid):
    tagged = {"coflex_unsuitable": 0, "dynesys_unsuitable": 0}
    for c in aid.knowledge.rules:
        if "coflex_unsuitable" in c.spec.tags:
            tagged["coflex_unsuitable"] += 1
            assert "Dynesys" in c.spec.explanation, c.spec.id
        if "dynesys_unsuitable" in c.spec.tags:
            tagged["dynesys_unsuitable"] += 1
            assert "Coflex" in c.spec.explanation, c.spec.id
    assert all(tagged.values()), tagged  # each tag is on some rule: the checks above ran


# ---- too early ---------------------------------------------------------------------


def test_symptoms_under_6_weeks_make_every_surgical_option_not_advised():
    early = verdicts({**STABLE_GRADE_1_SLIP, "symptom_duration_weeks": 5, "conservative_care_weeks": 5})
    for option in SURGICAL:
        assert early[option] in (NADV, NA), option
    for option in PRIMARY_SURGICAL:
        assert early[option] == NADV, option
    assert early["conservative_care"] == WD
    six = verdicts({**STABLE_GRADE_1_SLIP, "symptom_duration_weeks": 6, "conservative_care_weeks": 5})
    assert six["decompression_alone"] == DWC


def test_symptoms_under_6_weeks_also_oppose_revision():
    p = patient(
        prior_fusion="hardware_failure", months_since_fusion=30, symptom_duration_weeks=5, conservative_care_weeks=0
    )
    assert verdicts(p)["revision_surgery"] == NADV


# ---- unknowns that caution -----------------------------------------------------------


def test_unknown_bone_quality_cautions_fusion_over_65_but_not_at_65():
    at_66 = {**ISTHMIC_GRADE_2, "age": 66, "bone_density_t_score": None}
    at_65 = {**at_66, "age": 65}
    assert verdicts(at_65)["fusion"] == WD
    assert verdicts(at_66)["fusion"] == DWC
    assert "fusion.bone-quality-unknown-over-65" in reason_ids(at_66, "fusion", "cautions")
    assert "fusion.bone-quality-unknown-over-65" not in reason_ids(at_65, "fusion")
    missing = {m.field: m.options for m in assess(at_66).missing_information}
    assert "fusion" in missing.get("bone_density_t_score", [])
    assert "fusion" in missing.get("ct_l1_hounsfield", [])


def test_unknown_bone_quality_cautions_revision_over_65_but_not_at_65():
    at_66 = patient(age=66, bone_density_t_score=None, prior_fusion="pseudarthrosis", months_since_fusion=18)
    at_65 = {**at_66, "age": 65}
    assert verdicts(at_65)["revision_surgery"] == WD
    assert verdicts(at_66)["revision_surgery"] == DWC
    assert "revision.bone-quality-unknown-over-65" in reason_ids(at_66, "revision_surgery", "cautions")


def test_unknown_bone_quality_cautions_dynamic_over_65_but_not_at_65():
    at_66 = {**STABLE_GRADE_1_SLIP, "age": 66, "bone_density_t_score": None}
    at_65 = {**at_66, "age": 65}
    assert "dynamic.bone-quality-unknown-over-65" in reason_ids(at_66, "dynamic_stabilisation", "cautions")
    assert verdicts(at_65)["dynamic_stabilisation"] == WD


def test_unknown_bone_quality_never_cautions_decompression():
    p = {**STABLE_GRADE_1_SLIP, "age": 75, "bone_density_t_score": None}
    assert verdicts(p)["decompression_alone"] == WD


def test_slip_with_unknown_stability_cautions_and_asks_for_films():
    p = {**STABLE_GRADE_1_SLIP, "translation_mm": None, "angulation_deg": None}
    v = verdicts(p)
    assert v["decompression_alone"] == DWC
    assert v["fusion"] == DWC
    assert v["dynamic_stabilisation"] == DWC
    assert "fusion.grade-1-degenerative-slip-stability-not-assessed" in reason_ids(p, "fusion", "cautions")
    missing = {m.field for m in assess(p).missing_information}
    assert {"translation_mm", "angulation_deg"} <= missing


def test_no_slip_without_films_does_not_ask_for_films():
    p = {**TYPICAL, "translation_mm": None, "angulation_deg": None}
    a = assess(p)
    missing = {m.field for m in a.missing_information}
    assert "translation_mm" not in missing
    assert "angulation_deg" not in missing


def test_no_slip_without_films_counts_as_stable_and_adds_no_stability_caution():
    p = {**TYPICAL, "translation_mm": None, "angulation_deg": None}
    assert verdicts(p) == verdicts(TYPICAL)
    missing = {m.field for m in assess(p).missing_information}
    assert "angulation_deg" not in missing


def test_known_t_score_makes_ct_unnecessary():
    for t_score in (-0.5, -1.8, -3.0):
        p = {**ISTHMIC_GRADE_2, "age": 70, "bone_density_t_score": t_score, "ct_l1_hounsfield": None}
        a = assess(p)
        assert "ct_l1_hounsfield" not in {m.field for m in a.missing_information}, t_score
        assert "fusion.bone-quality-unknown-over-65" not in reason_ids(p, "fusion")


def test_other_unknowns_are_listed_without_cautioning():
    """Only the named unknowns caution: an unknown ODI or smoking status changes no verdict by itself."""
    known = verdicts(STABLE_GRADE_1_SLIP)
    assert verdicts({**STABLE_GRADE_1_SLIP, "odi": None, "smoker": None, "asa_grade": None, "bmi": None}) == known


# ---- reasons, notes, ordering, determinism -----------------------------------------------

ALL_SCENARIO_PATIENTS = (
    [s[1] for s in SCENARIOS]
    + [{**TYPICAL, **flags} for flags in RED_FLAG_INPUTS.values()]
    + [AXIAL, {**TYPICAL, "cauda_equina_syndrome": True, "suspected_tumour": True}]
)


def test_dynamic_for_back_pain_only_says_nothing_indicates_it():
    oa = assess(AXIAL).options["dynamic_stabilisation"]
    assert oa.verdict == NADV
    assert (FALLBACK, "opposes") in [(r.rule_id, r.effect) for r in oa.reasons]


@pytest.mark.parametrize("p", ALL_SCENARIO_PATIENTS)
def test_nothing_indicates_appears_exactly_when_no_rule_supports_and_none_excludes(p):
    a = assess(p)
    for option, oa in a.options.items():
        effects = {r.effect for r in oa.reasons if r.rule_id != FALLBACK}
        expected = "supports" not in effects and "excludes" not in effects
        got = [r for r in oa.reasons if r.rule_id == FALLBACK]
        assert bool(got) == expected, option
        assert all(r.effect == "opposes" for r in got)
        assert len(got) <= 1


@pytest.mark.parametrize("p", ALL_SCENARIO_PATIENTS)
def test_every_option_has_a_reason_and_reasons_are_sorted_by_effect_then_rule_id(p):
    a = assess(p)
    assert set(a.options) == set(OPTIONS)
    for option, oa in a.options.items():
        assert oa.reasons, option
        keys = [(EFFECT_ORDER[r.effect], r.rule_id) for r in oa.reasons]
        assert keys == sorted(keys), option
        if oa.verdict == NA:
            assert {r.effect for r in oa.reasons} == {"excludes"}, option
        assert [n.rule_id for n in oa.notes] == sorted(n.rule_id for n in oa.notes)


@pytest.mark.parametrize("p", ALL_SCENARIO_PATIENTS)
def test_findings_alerts_and_missing_information_are_in_contract_order(p):
    a = assess(p)
    assert [f.id for f in a.findings] == sorted(f.id for f in a.findings)
    assert [al.code for al in a.alerts] == sorted(al.code for al in a.alerts)
    keys = [(-len(m.options), m.field) for m in a.missing_information]
    assert keys == sorted(keys)


def test_verdict_follows_the_effects_of_its_reasons():
    """The aggregation, checked on the scenario outputs against the reference's definition."""
    for p in ALL_SCENARIO_PATIENTS:
        for option, oa in assess(p).options.items():
            effects = {r.effect for r in oa.reasons}
            if "excludes" in effects:
                want = NA
            elif "opposes" in effects:
                want = NADV
            elif "cautions" in effects:
                want = DWC
            else:
                want = WD
            assert oa.verdict == want, option


@pytest.mark.parametrize(
    "p",
    [TYPICAL, STABLE_GRADE_1_SLIP, ISTHMIC_GRADE_2, AXIAL, {**STABLE_GRADE_1_SLIP, **COFLEX_CONDITION}],
    ids=["stenosis", "grade I slip", "isthmic grade II", "back pain only", "coflex condition"],
)
def test_motion_preference_is_a_note_and_never_changes_a_verdict(p):
    without = assess({**p, "prefers_motion_preservation": False})
    with_pref = assess({**p, "prefers_motion_preservation": True})
    for option in OPTIONS:
        assert with_pref.options[option].verdict == without.options[option].verdict, option
        assert with_pref.options[option].reasons == without.options[option].reasons, option
    notes_with = {n.rule_id for n in with_pref.options["dynamic_stabilisation"].notes}
    notes_without = {n.rule_id for n in without.options["dynamic_stabilisation"].notes}
    assert "dynamic.note-motion-preservation" in notes_with - notes_without


def test_young_athlete_return_to_sport_is_a_note_on_conservative_care_only():
    athlete = patient(
        age=19, activity_level="high", leg_pain=False, stenosis="none", slip_type="isthmic", facet_arthropathy="none"
    )
    older = {**athlete, "age": 26}
    a, b = assess(athlete), assess(older)
    note = "conservative.note-young-athlete-return-to-sport"
    assert note in [n.rule_id for n in a.options["conservative_care"].notes]
    assert note not in [n.rule_id for n in b.options["conservative_care"].notes]
    for option in OPTIONS:
        assert a.options[option].verdict == b.options[option].verdict, option


def test_notes_never_become_reasons(aid):
    note_ids = {c.spec.id for c in aid.knowledge.rules if c.spec.note}
    for p in ALL_SCENARIO_PATIENTS:
        for oa in assess({**p, "prefers_motion_preservation": True}).options.values():
            assert not note_ids & {r.rule_id for r in oa.reasons}


@pytest.mark.parametrize(
    "p",
    [
        STABLE_GRADE_1_SLIP,
        patient(prior_fusion="pseudarthrosis"),
        {**TYPICAL, "translation_mm": None},
        {**TYPICAL, "cauda_equina_syndrome": True, "suspected_fracture": True},
    ],
    ids=["grade I slip", "pseudarthrosis date unknown", "unknown film", "red flags"],
)
def test_same_input_gives_byte_identical_json(p):
    first = assess(p).model_dump_json()
    assert assess(dict(p)).model_dump_json() == first
    assert assess(dict(reversed(list(p.items())))).model_dump_json() == first
    assert assess(json.dumps(p)).model_dump_json() == first


def test_a_fresh_engine_gives_byte_identical_json():
    fresh = DecisionAid()
    for p in (
        STABLE_GRADE_1_SLIP,
        patient(prior_fusion="pseudarthrosis"),
        {**ISTHMIC_GRADE_2, "age": 70, "bone_density_t_score": None},
    ):
        assert fresh.assess(p).model_dump_json() == assess(p).model_dump_json()
