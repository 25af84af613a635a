"""The Consultation page's "Load from a FHIR bundle" in a real browser (Chromium, `streamlit run app.py`):
the record's factors fill the form with their sources, and the red flags stay for the clinician to ask."""

from __future__ import annotations

from typing import Any

import pytest

from decision_aid.views.form import QUESTIONS
from tests.browser import ROOT, idle, settle

pytestmark = pytest.mark.slow

BUNDLE = ROOT / "examples" / "fhir" / "record.json"


def load_bundle(page: Any, name: str, content: bytes) -> None:
    """Choose a bundle in the "Load from a FHIR bundle" popover with tests/browser.py `upload`'s waits:
    the file is chosen only once the popover's own rerun is over (a file chosen during it could be
    lost on a busy machine), then the popover must be closed and the load's message shown."""
    idle(page)
    page.get_by_role("button", name="Load from a FHIR bundle").click()
    settle(page)
    page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(
        files=[{"name": name, "mimeType": "application/json", "buffer": content}]
    )
    page.wait_for_function(
        """name => !document.querySelector("[data-testid='stPopoverBody']")
            && (document.body.innerText.includes("Loaded " + name)
                || document.body.innerText.includes("Could not load " + name))""",
        arg=name,
        timeout=60_000,
    )
    idle(page)


def test_a_bundle_fills_the_form_marks_each_source_and_leaves_the_red_flags_unasked(page: Any, sync_api: Any):
    load_bundle(page, "record.json", BUNDLE.read_bytes())
    expect = sync_api.expect
    expect(page.get_by_text("Loaded record.json: 4 answers from the record")).to_be_visible()
    assert page.get_by_role("spinbutton", name="BMI", exact=True).input_value() == "31.2"
    expect(
        page.get_by_text("from the record: Observation/bmi, LOINC 39156-5 Body mass index (BMI) [Ratio], 2026-10-02")
    ).to_be_visible()
    expect(page.get_by_text("from the record: Observation/dxa-hip, LOINC 80946-7", exact=False)).to_be_visible()
    for question in QUESTIONS.values():  # the red flags: never pre-answered from a record
        group = page.get_by_role("radiogroup", name=question)
        sync_api.expect(group).to_be_visible()
        assert group.get_by_role("radio", checked=True).count() == 0, question
    page.get_by_role("button", name="Assess").click()
    settle(page)
    expect(page.get_by_text("Please answer each red-flag question", exact=False)).to_be_visible()
    expect(page.get_by_text("From the record (record.json): 4 filled, 1 not used, 0 conflicting")).to_be_visible()


def test_a_bundle_that_cannot_be_read_changes_nothing(page: Any, sync_api: Any):
    load_bundle(
        page, "bad.json", b'{"resourceType": "Bundle", "type": "collection", "entry": [{"fullUrl": 7, "resource": 1}]}'
    )
    failure = page.locator(".da-message-error")
    sync_api.expect(failure).to_be_visible()
    assert "Could not load bad.json: " in failure.inner_text()
    assert page.get_by_role("spinbutton", name="BMI", exact=True).input_value() == ""
