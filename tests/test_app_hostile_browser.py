"""Hostile patient files in a real browser (`streamlit run app.py`, Chromium through Playwright).

- Text from a file (its name, its field names, its values) is shown as written: a
  file named **x**.json is not bold, and a field named like a markdown image or an
  HTML tag makes the browser fetch nothing. A local HTTP listener stands where an
  attacker's server would be and must receive no request.
- A file nested 100,000 deep, an integer of 5,000 digits, invalid UTF-8 or UTF-16
  gives the calm "Could not load ..." message; the page never shows an error box,
  and the patient already loaded keeps every answer on the form and every verdict.
  A file over 1 MB is refused by the upload box itself (server.maxUploadSize = 1;
  the page refuses more than 1,000,000 bytes too, see tests/test_app_hostile.py).

Skipped, with the reason, without /usr/bin/chromium or Playwright (a failure under CI=true).
"""

from __future__ import annotations

import http.server
import json
import re
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from decision_aid import assess
from tests.browser import assert_cards, close_popover, load, upload

pytestmark = pytest.mark.slow

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
    "smoker": False,
}
BODY = json.dumps(PATIENT).encode()
HOSTILE = {
    "nested": b"[" * 100_000 + b"]" * 100_000,
    "digits": BODY[:-1] + b', "bmi": ' + b"9" * 5_000 + b"}",
    "latin1": BODY[:-1] + b', "index_level": "L4\xe9L5"}',  # not UTF-8
    "utf16": BODY.decode().encode("utf-16"),
}
FORM = ".st-key-factors_pane input"  # every input of the form: its value, or whether a radio is checked
VALUES = "inputs => inputs.map(i => i.type === 'radio' ? i.checked : i.value)"


@pytest.fixture
def listener() -> Iterator[tuple[int, list[str]]]:
    """A local HTTP server, standing where an attacker's would be: its port, and the paths requested."""
    requested: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
            requested.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], requested
    finally:
        server.shutdown()
        server.server_close()


def test_text_from_a_patient_file_is_shown_as_written_and_fetches_nothing(
    page: Any, sync_api: Any, listener: tuple[int, list[str]]
):
    port, requested = listener
    image = f"![t](http://127.0.0.1:{port}/key.png)"
    tag = f"<img src=http://127.0.0.1:{port}/h.png>"
    fetched: list[str] = []
    page.on("request", lambda request: fetched.append(request.url))
    content = json.dumps({**PATIENT, image: 1, tag: 2}).encode()
    upload(page, "**x**.json", content)

    sync_api.expect(page.get_by_text("Could not load", exact=False)).to_be_visible()
    page.wait_for_load_state("networkidle")
    assert requested == [], "the browser fetched an address named in the patient file"
    assert not [url for url in fetched if f":{port}/" in url], fetched
    main = page.locator("[data-testid='stMain']")
    assert main.locator(f"img[src*=':{port}/']").count() == 0
    assert main.locator("strong", has_text=re.compile(r"^x$")).count() == 0  # **x** would be <strong>x</strong>
    message = page.get_by_text("Could not load **x**.json: ", exact=False)  # the asterisks as written
    sync_api.expect(message).to_be_visible()
    sync_api.expect(message).to_contain_text(f"'{image}': unknown field")
    sync_api.expect(message).to_contain_text(f"'{tag}': unknown field")


def test_a_hostile_file_never_crashes_the_page_nor_loses_the_patient(page: Any, sync_api: Any):
    load(page, PATIENT)
    expected = assess(PATIENT)
    assert_cards(page, expected)
    form = page.locator(FORM).evaluate_all(VALUES)
    assert "63" in form

    def unchanged(name: str) -> None:
        assert page.locator("[data-testid='stException']").count() == 0, name
        assert page.get_by_text("went wrong").count() == 0, name
        assert page.get_by_text("This app has encountered an error").count() == 0, name
        assert page.locator(FORM).evaluate_all(VALUES) == form, name
        assert_cards(page, expected)

    for name, content in HOSTILE.items():
        upload(page, f"{name}.json", content)
        message = page.get_by_text(f"Could not load {name}.json: ", exact=False)
        sync_api.expect(message).to_be_visible()
        unchanged(name)
        sync_api.expect(message).to_contain_text("The form is unchanged.")

    upload(page, "large.json", BODY + b" " * (1_000_001 - len(BODY)), close=False, refused=True)
    uploader = page.locator("[data-testid='stFileUploader']")
    sync_api.expect(uploader).to_contain_text("File must be 1.0MB or smaller")
    close_popover(page)
    unchanged("large")
