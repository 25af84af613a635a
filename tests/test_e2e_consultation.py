"""The Consultation page keeps one patient at a time, in a real browser (`streamlit run app.py`,
Playwright, Debian's Chromium): two patients loaded one after the other share no rating, verdict or
handout; a file that fails to load changes nothing and says so where the user is looking (the
upload popover closes, the message is visible, the verdicts still shown are marked as the earlier
patient's); the form asks the red flags and the motor deficit before Assess works.

Skipped, with the reason, on a machine without /usr/bin/chromium or Playwright; under CI=true a
missing browser is a failure, never a skip.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from decision_aid import assess
from decision_aid.knowledge.labels import OPTION_NAMES, VERDICT_WORDS
from tests.browser import ROOT, assert_cards, load, settle, upload

pytestmark = pytest.mark.slow

DATA = ROOT / "examples"
FIRST = json.loads((DATA / "isthmic-grade2.json").read_text())
SECOND = json.loads((DATA / "grade1-degenerative-stenosis.json").read_text())
RATED = "Keeping movement in my back"


def test_two_patients_one_after_the_other_share_nothing(page: Any, sync_api: Any):
    load(page, FIRST, "first.json")
    assert_tiles(page, FIRST)
    page.get_by_role("tab", name="For the patient").click()
    page.get_by_role("radiogroup", name=RATED).get_by_text("5", exact=True).click()
    settle(page)
    sync_api.expect(page.locator("table.da-grid").get_by_text(f"{RATED}: 5 of 5")).to_be_visible()
    assert f"{RATED}: 5 out of 5" in handout_text(page)

    load(page, SECOND, "second.json")
    assert_cards(page, assess(SECOND))
    assert_tiles(page, SECOND)
    assert page.get_by_role("spinbutton", name="Age (years)").input_value() == str(SECOND["age"])
    page.get_by_role("tab", name="For the patient").click()
    grid = page.locator("table.da-grid")
    sync_api.expect(grid).to_be_visible()
    assert "of 5" not in grid.inner_text()
    assert page.get_by_role("radiogroup", name=RATED).get_by_role("radio", checked=True).count() == 0
    assert "out of 5" not in handout_text(page)


def test_a_failed_load_changes_nothing_and_says_so(page: Any, sync_api: Any):
    load(page, FIRST, "first.json")
    before = page.locator(".da-glance").inner_text()

    upload(page, "bad.json", b'{"age": 200, "back_pain": true}', close=False)
    sync_api.expect(page.locator("[data-testid='stPopoverBody']")).to_be_hidden()  # closed by itself
    failure = page.locator(".da-message-error")
    sync_api.expect(failure).to_be_visible()
    assert failure.inner_text().strip().startswith("✖Could not load bad.json: ")
    assert page.get_by_text("Loaded first.json").count() == 0
    sync_api.expect(page.get_by_text("The file was not loaded.")).to_be_visible()
    assert page.locator(".da-glance").inner_text() == before
    assert_cards(page, assess(FIRST))
    assert page.get_by_role("spinbutton", name="Age (years)").input_value() == str(FIRST["age"])


def test_a_good_load_is_seen_at_once(page: Any, sync_api: Any):
    upload(page, "first.json", json.dumps(FIRST).encode(), close=False)
    sync_api.expect(page.locator("[data-testid='stPopoverBody']")).to_be_hidden()
    sync_api.expect(page.get_by_text("Loaded first.json.")).to_be_visible()


def test_assess_asks_for_the_red_flags_first(page: Any, sync_api: Any):
    for label, text in {"Age (years)": "63", "Symptom duration (weeks)": "52"}.items():
        field = page.get_by_role("spinbutton", name=label, exact=True)
        field.fill(text)
        field.press("Tab")
        settle(page)
    page.get_by_role("button", name="Assess").click()
    settle(page)
    sync_api.expect(page.get_by_text("Please answer each red-flag question", exact=False)).to_be_visible()
    assert page.locator(".da-glance").count() == 0
    page.get_by_text("None of these red flags", exact=True).click()
    settle(page)
    for question in ("Cauda equina syndrome suspected or confirmed?", "Tumour suspected?"):
        assert page.get_by_role("radiogroup", name=question).get_by_role("radio", name="no").is_checked()


# ---- helpers ----------------------------------------------------------------------------------


def assert_tiles(page: Any, patient: dict[str, Any]) -> None:
    """The verdicts at a glance are this patient's."""
    tiles = page.locator(".da-tile")
    expected = assess(patient)
    assert tiles.count() == len(OPTION_NAMES)
    for tile, (option, result) in zip(tiles.all(), expected.options.items(), strict=True):
        text = tile.inner_text()
        assert OPTION_NAMES[option] in text and VERDICT_WORDS[result.verdict] in text, (option, text)


def handout_text(page: Any) -> str:
    with page.expect_download(timeout=60_000) as pdf:
        page.get_by_role("button", name="Patient handout (PDF)").click()
    reader = PdfReader(io.BytesIO(Path(pdf.value.path()).read_bytes()))
    return " ".join(" ".join(p.extract_text() for p in reader.pages).split())
