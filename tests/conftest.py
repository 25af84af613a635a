"""What every test shares: one engine for the whole run, one base patient and its named variants,
and (for the browser tests) one Streamlit server and one Chromium.

Tests take the engine as the `aid` fixture. Patients are built from `BASE_PATIENT` with
`variant(name, **changes)`, where `name` is one of `VARIANTS` ("stenosis" is the base itself).
Test modules that build tables at import time import them: `from tests.conftest import variant`.

`pytest -m "not slow"` is the quick inner loop; the `slow` marker (registered in pyproject.toml,
with --strict-markers) is on stress, memory, process-pool and signal, packaging, lint, browser
and many-patient tests. A plain `pytest` runs everything.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from decision_aid import DecisionAid, default_aid
from decision_aid.errors import KnowledgeError
from decision_aid.knowledge.files import rules_dir
from decision_aid.knowledge.loader import load
from decision_aid.models import PatientFactors

# ---- the base patient and its named variants -----------------------------------------------------

# A 55-year-old with back and leg pain from moderate stenosis at L4-L5, no slip, 30 weeks of
# symptoms and 26 weeks of structured care; everything measured and unremarkable (normal bone
# density, stable on flexion-extension films, no deformity), no red flag, no previous surgery.
BASE_PATIENT: dict[str, Any] = {
    "age": 55,
    "activity_level": "moderate",
    "bmi": 27.0,
    "smoker": False,
    "asa_grade": 2,
    "bone_density_t_score": 0.0,
    "back_pain": True,
    "leg_pain": True,
    "symptom_duration_weeks": 30,
    "conservative_care_weeks": 26,
    "odi": 40,
    "index_level": "L4-L5",
    "levels": 1,
    "slip_grade": 0,
    "slip_type": "none",
    "stenosis": "moderate",
    "disc_herniation": "none",
    "translation_mm": 1.0,
    "angulation_deg": 3.0,
    "pfirrmann_grade": 3,
    "facet_arthropathy": "mild",
    "scoliosis_cobb_deg": 5.0,
    "sagittal_imbalance": False,
}

# Each variant is the base patient with these changes (None = not known).
_CHANGES: dict[str, dict[str, Any]] = {
    "stenosis": {},
    # a stable grade I degenerative slip, films measured
    "degenerative_slip": {"slip_grade": 1, "slip_type": "degenerative"},
    # the same slip with no flexion-extension films
    "slip_no_films": {"slip_grade": 1, "slip_type": "degenerative", "translation_mm": None, "angulation_deg": None},
    # back pain only, no nerve compression
    "axial_pain": {"leg_pain": False, "stenosis": "none"},
    # after a solid lumbar fusion 3 years ago
    "fused": {"prior_fusion": "solid", "months_since_fusion": 36},
    # bone quality not measured
    "no_bone_density": {"bone_density_t_score": None, "ct_l1_hounsfield": None},
    # a red flag: cauda equina syndrome
    "red_flag": {"cauda_equina_syndrome": True},
    # the clinical scenarios' typical patient: a 62-year-old with neurogenic claudication from severe
    # stenosis, 40 weeks of symptoms, ODI 42, normal bone density, degenerated disc (Pfirrmann 4)
    "severe_stenosis": {
        "age": 62,
        "bmi": 28.0,
        "bone_density_t_score": -0.5,
        "symptom_duration_weeks": 40,
        "odi": 42,
        "motor_deficit": "none",
        "stenosis": "severe",
        "translation_mm": 1.5,
        "angulation_deg": 4.0,
        "pfirrmann_grade": 4,
        "facet_arthropathy": "moderate",
        "scoliosis_cobb_deg": 4.0,
    },
    # every field given a value (the engine can be run on it directly, without the contract's defaults):
    # a 58-year-old with severe stenosis over a stable grade I degenerative slip
    "fully_known": {
        "age": 58,
        "bone_density_t_score": -0.5,
        "ct_l1_hounsfield": 160.0,
        "symptom_duration_weeks": 40,
        "conservative_care_weeks": 30,
        "odi": 44,
        "motor_deficit": "none",
        "cauda_equina_syndrome": False,
        "suspected_infection": False,
        "suspected_tumour": False,
        "suspected_fracture": False,
        "slip_grade": 1,
        "slip_type": "degenerative",
        "stenosis": "severe",
        "translation_mm": 2.0,
        "angulation_deg": 5.0,
        "facet_arthropathy": "moderate",
        "scoliosis_cobb_deg": 4.0,
        "prior_fusion": "none",
        "adjacent_segment_disease": False,
        "prior_decompression": False,
        "psychosocial_yellow_flags": False,
        "prefers_motion_preservation": False,
    },
}

VARIANTS: dict[str, dict[str, Any]] = {name: {**BASE_PATIENT, **changes} for name, changes in _CHANGES.items()}
# Only what the contract requires, every other field left to its default (or unknown).
VARIANTS["minimal"] = {name: BASE_PATIENT[name] for name, f in PatientFactors.model_fields.items() if f.is_required()}


def variant(name: str = "stenosis", **changes: Any) -> dict[str, Any]:
    """A fresh copy of the named variant of the base patient, with `changes` on top."""
    if name not in VARIANTS:
        raise KeyError(f"no patient variant {name!r}; known: {', '.join(VARIANTS)}")
    return {**VARIANTS[name], **changes}


# ---- fixtures ------------------------------------------------------------------------------------


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tests that use the shared Chromium run last, in their usual order: once Playwright's sync
    API has started (it stays up for the whole run, below), it leaves its event loop marked as
    running in the main thread, and asyncio.run() in any later test would fail."""
    items.sort(key=lambda item: "browser" in getattr(item, "fixturenames", ()))


@pytest.fixture(autouse=True)
def _main_module_kept() -> Iterator[None]:
    """Streamlit's AppTest installs each script it runs as sys.modules["__main__"] and leaves it
    there; a process started by spawn afterwards (a process pool, a Dask worker) would run that
    script again and fail. Every test ends with the real __main__ back in place."""
    main = sys.modules["__main__"]
    yield
    sys.modules["__main__"] = main


@pytest.fixture(scope="session")
def aid() -> DecisionAid:
    """The compiled engine and knowledge base, built once for the whole run."""
    return default_aid()


@pytest.fixture
def base_patient() -> dict[str, Any]:
    """A fresh copy of the base patient (a test may change it)."""
    return variant()


# One Streamlit server and one Chromium for all the browser test files (each test opens its own
# browser context, hence its own Streamlit session). tests/test_app_network.py runs its own server
# under an audit hook.


@pytest.fixture(scope="session")
def sync_api() -> Any:
    from tests.browser import playwright_api

    return playwright_api()


@pytest.fixture(scope="session")
def app_url(sync_api: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from tests.browser import running_app

    with running_app(tmp_path_factory.mktemp("streamlit") / "server.log") as port:
        yield f"http://localhost:{port}"


@pytest.fixture(scope="session")
def browser(sync_api: Any) -> Iterator[Any]:
    from tests.browser import chromium

    with chromium(sync_api) as browser:
        yield browser


# ---- a knowledge base a test may break -------------------------------------------------------------


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    """A copy of rules/ that the test may edit."""
    target = tmp_path / "rules"
    shutil.copytree(rules_dir(), target)
    return target


def edit_rule(kb: Path, file: str, rule_id: str, **changes: Any) -> None:
    """Change one entry (by id) of a YAML list file in a copied knowledge base; None removes a key."""
    path = kb / file
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    for item in data[next(iter(data))]:
        if item["id"] == rule_id:
            item.update(changes)
            for name in [n for n, value in changes.items() if value is None]:
                del item[name]
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")


def knowledge_problems(kb: Path) -> list[str]:
    """The problems loading a copied knowledge base reports (it must report some)."""
    with pytest.raises(KnowledgeError) as caught:
        load(kb)
    return [str(p) for p in caught.value.problems]


@pytest.fixture
def page(browser: Any, app_url: str) -> Iterator[Any]:
    """A fresh browser context (a new Streamlit session) on the shared server, 1440 x 1000."""
    from tests.browser import app_page

    with app_page(browser, app_url) as page:
        yield page
