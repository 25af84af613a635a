"""A hostile patient file on the Consultation page (AppTest): a calm message, and the patient as it was.

Whatever the file holds or makes the loader do, the page shows "Could not load ..."
as plain text, never a traceback, and keeps the form and the verdicts of the
patient already loaded. The message quotes the file only briefly and never as
markdown. The same in a real browser: tests/test_app_hostile_browser.py.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from decision_aid import assess
from decision_aid.knowledge.labels import OPTION_NAMES, VERDICT_WORDS

APP = str(Path(__file__).resolve().parent.parent / "app.py")
CASE = json.loads((Path(__file__).resolve().parent.parent / "examples" / "isthmic-grade2.json").read_text())
PATIENT = {name: value for name, value in CASE.items() if name != "bmi"}  # the hostile files give a BMI
BODY = json.dumps(PATIENT).encode()


def with_field(text: bytes) -> bytes:
    """The patient's JSON with one more member (`text` is `"name": value`)."""
    return BODY[:-1] + b", " + text + b"}"


HOSTILE = {
    "nested 100,000 deep": b"[" * 100_000 + b"]" * 100_000,
    "a value nested 100,000 deep": with_field(b'"bmi": ' + b"[" * 100_000 + b"]" * 100_000),
    "an integer of 5,000 digits": with_field(b'"bmi": ' + b"9" * 5_000),
    "1e400": with_field(b'"bmi": 1e400'),
    "invalid UTF-8": with_field(b'"bmi": "\xff\xfe"'),
    "UTF-16": BODY.decode().encode("utf-16"),
    "a byte-order mark only": b"\xef\xbb\xbf",
    "empty": b"",
    "NUL bytes": b"\x00" * 64,
    "over 1,000,000 bytes": BODY + b" " * (1_000_001 - len(BODY)),
    "a red flag given twice": with_field(b'"cauda_equina_syndrome": true, "cauda_equina_syndrome": false'),
    "a lone surrogate": with_field(b'"\\ud800": 1'),
    "not an object": b"[1, 2]",
}


def start() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception
    return at


def upload(at: AppTest, name: str, content: bytes) -> AppTest:
    at.file_uploader(key="upload").upload(name, content, "application/json").run()
    assert not at.exception, at.exception
    return at


def messages(at: AppTest) -> list[tuple[str, str]]:
    """The load messages on the page: their kind and the text a reader sees (after the symbol)."""
    boxes = [h.value for h in at.html if "da-message" in h.value]
    return [
        ("error" if "da-message-error" in box else "success", html.unescape(re.sub(r"<[^>]+>", "", box))[1:])
        for box in boxes
    ]


def state(at: AppTest) -> dict[str, Any]:
    """What the clinician sees of the patient: every answer on the form and every verdict card."""
    widgets = [*at.number_input, *at.selectbox, *at.radio]
    form = {w.key: w.value for w in widgets if w.key and w.key.startswith("factor_")}
    cards = [m.value for m in at.markdown if m.value.startswith("#### ")]
    return {"form": form, "cards": cards, "answers": dict(at.session_state["answers"])}


def loaded(at: AppTest) -> dict[str, Any]:
    upload(at, "patient.json", BODY)
    assert messages(at) == [("success", "Loaded patient.json.")]
    before = state(at)
    for option, result in assess(PATIENT).options.items():
        (card,) = [c for c in before["cards"] if c.startswith(f"#### {OPTION_NAMES[option]}\n")]
        assert VERDICT_WORDS[result.verdict] in card
    return before


@pytest.fixture(scope="module")
def loaded_page() -> tuple[AppTest, dict[str, Any]]:
    """One page with the patient loaded, for every hostile file in turn: each must leave it as it was.
    (Not for the tests that patch the package: the page's callbacks keep what they saw when drawn.)"""
    at = start()
    return at, loaded(at)


@pytest.mark.parametrize("content", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_hostile_file_gives_a_calm_message_and_keeps_the_patient(
    loaded_page: tuple[AppTest, dict[str, Any]], content: bytes
):
    at, before = loaded_page
    assert state(at) == before  # as loaded, whatever the files before this one did
    upload(at, "hostile.json", content)
    ((kind, message),) = messages(at)
    assert kind == "error"
    assert message.startswith("Could not load hostile.json: ") and message.endswith("The form is unchanged.")
    assert len(message) < 600, message
    assert not [e.value for e in at.error if "went wrong" in e.value]
    assert state(at) == before


@pytest.mark.parametrize(
    "error",
    [RuntimeError("boom"), RecursionError("too deep"), ValueError("Exceeds the limit (4300 digits)"), MemoryError()],
    ids=lambda e: type(e).__name__,
)
def test_any_error_while_loading_is_a_calm_message(monkeypatch: pytest.MonkeyPatch, error: Exception):
    """Whatever the loader raises (today's loader raises only InputError; this page does not rely on it)."""
    import decision_aid.views.consultation

    load_record = decision_aid.views.consultation.load_record

    def hostile(data: Any) -> Any:
        if data == b"hostile":
            raise error
        return load_record(data)

    monkeypatch.setattr(decision_aid.views.consultation, "load_record", hostile)
    at = start()
    before = loaded(at)
    upload(at, "hostile.json", b"hostile")
    assert messages(at) == [
        ("error", "Could not load hostile.json: this tool cannot read it as a patient file. The form is unchanged.")
    ]
    assert state(at) == before


def test_a_patient_that_cannot_be_assessed_is_not_half_loaded(monkeypatch: pytest.MonkeyPatch):
    """The new answers are applied only once the new patient has been assessed."""
    import decision_aid.views.consultation

    other = {**PATIENT, "age": PATIENT["age"] + 1}
    consult = decision_aid.views.consultation.consult

    def failing_for_the_new_patient(patient: Any, *args: Any, **kwargs: Any) -> Any:
        if dict(patient)["age"] == other["age"]:
            raise RuntimeError("engine failure")
        return consult(patient, *args, **kwargs)

    monkeypatch.setattr(decision_aid.views.consultation, "consult", failing_for_the_new_patient)
    at = start()
    before = loaded(at)
    upload(at, "other.json", json.dumps(other).encode())
    assert messages(at) == [
        ("error", "Could not load other.json: this tool cannot read it as a patient file. The form is unchanged.")
    ]
    assert state(at) == before


def test_the_file_name_and_the_files_text_are_shown_as_written_never_as_markdown():
    at = start()
    field = "![t](http://127.0.0.1:9/key.png)"
    upload(at, "**x**.json", with_field(json.dumps(field).encode() + b": 1"))
    ((_, message),) = messages(at)
    assert message.startswith("Could not load **x**.json: ")
    assert f"'{field}': unknown field" in message
    kinds = ("markdown", "error", "success", "warning", "info", "caption", "toast")
    markdown = [e.value for kind in kinds for e in at.get(kind)]
    assert not [m for m in markdown if "**x**" in m or "key.png" in m]  # no user text goes through markdown
    (box,) = [h.value for h in at.html if "da-message" in h.value]
    assert "<img" not in box and "<strong" not in box and "**x**.json" in box


def test_invisible_and_reordering_characters_in_a_file_name_are_shown_as_their_code():
    at = start()
    upload(at, "report\u202egpj.json", b"{")
    ((_, message),) = messages(at)
    assert message.startswith("Could not load report<U+202E>gpj.json: ")


def test_a_long_value_is_quoted_short():
    at = start()
    upload(at, "long.json", with_field(b'"' + b"k" * 100_000 + b'": "' + b"v" * 500_000 + b'"'))
    ((_, message),) = messages(at)
    assert len(message) < 400 and "kkkk" in message and "vvvv" not in message, message
