"""Seeded random valid patients, for the benchmark and for spot checks.

Values are spread over every field's range, with about a third of the
nullable fields left unknown, and the cross-field rules respected.
"""

from __future__ import annotations

import random
from typing import Any


def random_patient(rng: random.Random, unknown_share: float = 0.3) -> dict[str, Any]:
    def maybe(value: Any) -> Any:
        return None if rng.random() < unknown_share else value

    slip_grade = rng.choice([0, 0, 0, 1, 1, 1, 2, 2, 3, 4, 5])
    if slip_grade == 0:
        slip_type = rng.choice(["none", "none", "none", "isthmic"])
    else:
        slip_type = rng.choice(["degenerative", "degenerative", "isthmic"])
    symptom_weeks = rng.choice([rng.randint(0, 12), rng.randint(0, 104), rng.randint(0, 2600)])
    prior_fusion = rng.choice(["none"] * 6 + ["solid", "pseudarthrosis", "hardware_failure"])
    fused = prior_fusion != "none"
    patient = {
        "age": rng.randint(18, 110),
        "activity_level": rng.choice(["low", "moderate", "high"]),
        "bmi": maybe(round(rng.uniform(12, 80), 1)),
        "smoker": maybe(rng.random() < 0.2),
        "asa_grade": maybe(rng.randint(1, 5)),
        "bone_density_t_score": maybe(round(rng.uniform(-7, 4), 1)),
        "ct_l1_hounsfield": maybe(round(rng.uniform(-100, 600))),
        "back_pain": rng.random() < 0.8,
        "leg_pain": rng.random() < 0.7,
        "symptom_duration_weeks": symptom_weeks,
        "conservative_care_weeks": rng.randint(0, symptom_weeks),
        "odi": maybe(rng.randint(0, 100)),
        "motor_deficit": rng.choice(["none"] * 12 + ["stable", "severe", "progressive"]),
        "cauda_equina_syndrome": rng.random() < 0.03,
        "suspected_infection": rng.random() < 0.02,
        "suspected_tumour": rng.random() < 0.02,
        "suspected_fracture": rng.random() < 0.02,
        "index_level": maybe(rng.choice(["L1-L2", "L2-L3", "L3-L4", "L4-L5", "L5-S1"])),
        "levels": rng.choice([1, 1, 1, 2, 2, 3, 4, 5]),
        "slip_grade": slip_grade,
        "slip_type": slip_type,
        "stenosis": maybe(rng.choice(["none", "mild", "moderate", "severe"])),
        "disc_herniation": maybe(rng.choice(["none", "first", "recurrent"])),
        "translation_mm": maybe(round(rng.uniform(0, 12), 1)),
        "angulation_deg": maybe(round(rng.uniform(0, 25), 1)),
        "pfirrmann_grade": maybe(rng.randint(1, 5)),
        "facet_arthropathy": maybe(rng.choice(["none", "mild", "moderate", "severe"])),
        "scoliosis_cobb_deg": maybe(round(rng.uniform(0, 60), 1)),
        "sagittal_imbalance": maybe(rng.random() < 0.2),
        "prior_fusion": prior_fusion,
        "months_since_fusion": maybe(rng.randint(0, 240)) if fused else None,
        "adjacent_segment_disease": fused and rng.random() < 0.4,
        "prior_decompression": rng.random() < 0.2,
        "psychosocial_yellow_flags": rng.random() < 0.2,
        "prefers_motion_preservation": rng.random() < 0.3,
    }
    return {k: v for k, v in patient.items() if v is not None}


def random_patients(count: int, seed: int = 20261122) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [random_patient(rng) for _ in range(count)]
