"""End to end in a real browser: `streamlit run app.py`, driven by Playwright in Debian's Chromium.

Fills part of the Consultation form, sees the six option cards with the verdicts
that assess() gives, opens the plain-language tab, saves the consultation and
the handout, loads a patient file, and visits all four pages. Screenshots go to
test-artifacts/ (gitignored). With UPDATE_DOCS_SCREENSHOT=1 the README's
screenshot, docs/consultation.png, is refreshed too.

Skipped, with the reason, on a machine without /usr/bin/chromium or Playwright;
under CI=true a missing browser is a failure, never a skip.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from decision_aid import assess
from decision_aid.knowledge.labels import OPTION_NAMES
from tests.browser import ROOT, assert_cards, load, settle

pytestmark = pytest.mark.slow

ARTIFACTS = ROOT / "test-artifacts"
DOCS_SCREENSHOT = ROOT / "docs" / "consultation.png"

# Part of the form, as a clinician would type it in clinic.
TYPED = {"Age (years)": "63", "Symptom duration (weeks)": "52", "Conservative care (weeks)": "28"}
CHOSEN = {
    "Motor deficit": "none",
    "Symptomatic levels": "1",
    "Slip grade": "I",
    "Slip type": "degenerative",  # offered once the grade says there is a slip
    "Stenosis": "severe",
}
PATIENT = {
    "age": 63,
    "back_pain": True,
    "leg_pain": True,
    "symptom_duration_weeks": 52,
    "conservative_care_weeks": 28,
    "levels": 1,
    "slip_grade": 1,
    "slip_type": "degenerative",
    "stenosis": "severe",
}

# The patient in the README's screenshot: a grade I degenerative slip, 8 weeks of care so far.
SHOWCASE = {
    "age": 58,
    "bmi": 31.5,
    "smoker": False,
    "asa_grade": 2,
    "back_pain": True,
    "leg_pain": True,
    "symptom_duration_weeks": 40,
    "conservative_care_weeks": 8,
    "odi": 42,
    "index_level": "L4-L5",
    "levels": 1,
    "slip_grade": 1,
    "slip_type": "degenerative",
    "stenosis": "severe",
    "disc_herniation": "none",
    "translation_mm": 2.0,
    "angulation_deg": 4.0,
    "pfirrmann_grade": 4,
    "facet_arthropathy": "moderate",
}


# ---- the tests --------------------------------------------------------------------------------


def test_consultation_form_to_six_cards_and_the_patient_tab(page: Any, sync_api: Any):
    for label, text in TYPED.items():
        field = page.get_by_role("spinbutton", name=label, exact=True)
        field.fill(text)
        field.press("Tab")
    for question in ("Back pain", "Leg pain"):
        page.get_by_role("radiogroup", name=question).get_by_text("yes", exact=True).click()
    for label, option in CHOSEN.items():
        choose(page, label, option)
        settle(page)
    page.get_by_text("None of these red flags", exact=True).click()  # the red flags asked, all absent
    settle(page)
    page.get_by_role("button", name="Assess").click()
    settle(page)

    expected = assess(PATIENT)
    assert_cards(page, expected)
    assert page.get_by_text("What would change it").first.is_visible()
    assert page.get_by_text("Missing information").first.is_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    full_page_screenshot(page, ARTIFACTS / "consultation.png")

    page.get_by_role("tab", name="For the patient").click()
    first = expected.options["conservative_care"].reasons[0].patient_explanation
    sync_api.expect(page.get_by_text(first, exact=False).first).to_be_visible()
    grid = page.locator("table.da-grid")
    sync_api.expect(grid).to_be_visible()
    shown = [OPTION_NAMES[o] for o, r in expected.options.items() if r.verdict != "not_applicable"]
    header = grid.locator("thead th").all_inner_texts()[1:]
    assert [h.split("\n")[0].strip() for h in header] == shown
    rating = page.get_by_role("radiogroup", name="Keeping movement in my back")  # What matters to you, 1 to 5
    rating.get_by_text("5", exact=True).click()
    settle(page)
    sync_api.expect(grid.get_by_text("Keeping movement in my back: 5 of 5")).to_be_visible()
    full_page_screenshot(page, ARTIFACTS / "consultation-patient.png")

    page.get_by_role("tab", name="Clinic letter").click()
    sync_api.expect(page.get_by_text("Lumbar spine decision aid: options discussed").first).to_be_visible()


def test_save_and_handout_downloads(page: Any):
    load(page, SHOWCASE)
    with page.expect_download() as saved:
        page.get_by_role("button", name="Save consultation (JSON)").click()
    record = json.loads(Path(saved.value.path()).read_text())
    assert record["patient"]["age"] == SHOWCASE["age"]
    assert record["assessment"] == assess(SHOWCASE).model_dump(mode="json")
    assert record["knowledge_version"] == assess(SHOWCASE).knowledge_version
    handout = page.get_by_role("button", name="Patient handout (PDF)")
    assert handout.count() == 1, "the Consultation page offers no patient handout"
    with page.expect_download(timeout=60_000) as pdf:
        handout.click()
    assert Path(pdf.value.path()).read_bytes()[:5] == b"%PDF-"


def test_loaded_patient_file_shows_its_verdicts(page: Any):
    patient = json.loads((ROOT / "examples" / "isthmic-grade2.json").read_text())
    load(page, patient)
    assert_cards(page, assess(patient))
    if os.environ.get("UPDATE_DOCS_SCREENSHOT") == "1":
        load(page, SHOWCASE, "example-patient.json")
        page.set_viewport_size({"width": 1440, "height": 1500})
        settle(page)
        page.screenshot(path=str(DOCS_SCREENSHOT))


def test_red_flag_banner_in_the_browser(page: Any):
    load(page, {**PATIENT, "cauda_equina_syndrome": True})
    banner = page.get_by_text("Urgent referral: not an elective discussion")
    assert banner.is_visible()
    assert page.get_by_text("emergency decompression", exact=False).first.is_visible()
    assert page.get_by_text("suspended: urgent referral").count() >= 6
    full_page_screenshot(page, ARTIFACTS / "consultation-urgent.png")


def test_every_page_opens_without_an_error(page: Any):
    for title in ("Explore", "Teaching", "Knowledge base", "Consultation"):
        page.get_by_role("link", name=title).first.click()
        settle(page)
        assert page.locator("[data-testid='stException']").count() == 0, title
        assert page.get_by_text("This app has encountered an error").count() == 0, title
        assert page.locator("h1").first.is_visible(), title
        full_page_screenshot(page, ARTIFACTS / f"page-{title.lower().replace(' ', '-')}.png")


# ---- helpers ----------------------------------------------------------------------------------


def choose(page: Any, label: str, option: str) -> None:
    box = page.get_by_role("combobox", name=label)
    box.click()
    box.fill(option)
    page.locator("[role=option]").get_by_text(option, exact=True).first.click()


def full_page_screenshot(page: Any, path: Path) -> None:
    """Streamlit scrolls inside its main area, so grow the viewport to the content first."""
    size = page.viewport_size
    height = page.evaluate("() => document.querySelector('[data-testid=stMain]').scrollHeight")
    page.set_viewport_size({"width": size["width"], "height": min(int(height) + 20, 8000)})
    page.wait_for_timeout(300)
    path.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size(size)
