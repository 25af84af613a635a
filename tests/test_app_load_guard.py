"""A load that cannot race (app_pages.load_guard): each uploaded file is loaded once, and a rerun the
browser sent before it had the load (the popover still open, the form as it was) neither undoes the
load nor reopens the popover; the load's message stays in view outside it."""

from __future__ import annotations

import json
from typing import Any

from streamlit.testing.v1 import AppTest

from decision_aid import assess
from decision_aid.knowledge.labels import VERDICT_WORDS
from tests.test_app_consultation import FIRST, SECOND, card, form_values
from tests.test_app_hostile import messages, start, upload

MIME = "application/json"


def set_widgets(at: AppTest, values: dict[str, Any]) -> None:
    """Put the form's widgets at these values (as the browser would send them)."""
    for kind in ("number_input", "selectbox", "radio"):
        for widget in getattr(at, kind):
            key = widget.key or ""
            name = key.removeprefix("factor_")
            if key.startswith("factor_") and name in values and widget.value != values[name]:
                widget.set_value(values[name])


def resend(at: AppTest, file_id: str, name: str, content: bytes) -> None:
    """The browser sends an upload it already sent (the same file, by its file_id)."""
    at.file_uploader(key="upload")._files = [(file_id, name, content, MIME)]


def two_patients() -> tuple[AppTest, dict[str, Any], dict[str, Any]]:
    at = start()
    upload(at, "first.json", json.dumps(FIRST).encode())
    first = form_values(at)
    at.session_state["load_popover"] = True  # the user opens the popover and gives another file
    upload(at, "second.json", json.dumps(SECOND).encode())
    assert messages(at) == [("success", "Loaded second.json.")]
    assert at.session_state["load_popover"] is False
    second = form_values(at)
    assert first != second
    return at, first, second


def assert_second_shown(at: AppTest, second: dict[str, Any]) -> None:
    assert form_values(at) == second
    assert at.session_state["load_popover"] is False  # closed: the message below it is seen
    assert messages(at) == [("success", "Loaded second.json.")]
    for option, result in assess(SECOND).options.items():
        assert VERDICT_WORDS[result.verdict] in card(at, option)


def test_a_late_rerun_neither_undoes_the_load_nor_reopens_the_popover():
    at, first, second = two_patients()
    # The rerun that opened the popover, sent before the file went up, arrives after the load's.
    set_widgets(at, first)
    at.session_state["load_popover"] = True
    at.file_uploader(key="upload").clear()
    at.run()
    assert not at.exception
    assert_second_shown(at, second)


def test_the_same_upload_sent_again_is_not_loaded_again():
    at, _, second = two_patients()
    file_id = at.session_state["upload"].file_id
    at.number_input(key="factor_age").set_value(SECOND["age"] + 5).run()  # typed after the load
    at.file_uploader(key="upload").clear()
    at.run()
    resend(at, file_id, "second.json", json.dumps(SECOND).encode())
    at.run()
    assert not at.exception
    assert at.number_input(key="factor_age").value == SECOND["age"] + 5  # not reloaded over what was typed
    assert at.session_state["load_popover"] is False


def test_after_the_browser_has_the_load_the_form_is_the_users_again():
    at, first, second = two_patients()
    at.number_input(key="factor_age").set_value(SECOND["age"] + 1).run()  # the browser had the load
    set_widgets(at, first)  # then the clinician types the first patient's answers back, on purpose
    at.run()
    assert not at.exception
    assert form_values(at) == first


def test_a_new_file_is_loaded_as_usual_after_a_guarded_one():
    at, first, _ = two_patients()
    upload(at, "first-again.json", json.dumps(FIRST).encode())  # a new upload: a new file_id
    assert messages(at) == [("success", "Loaded first-again.json.")]
    assert form_values(at) == first


def test_an_earlier_upload_sent_late_does_not_bring_the_earlier_patient_back():
    at = start()
    upload(at, "first.json", json.dumps(FIRST).encode())
    first_id = at.session_state["upload"].file_id
    upload(at, "second.json", json.dumps(SECOND).encode())
    second = form_values(at)
    at.number_input(key="factor_age").set_value(SECOND["age"]).run()  # the browser has the load
    resend(at, first_id, "first.json", json.dumps(FIRST).encode())  # a late rerun still holding it
    at.run()
    assert not at.exception
    assert form_values(at) == second
    assert messages(at) == [("success", "Loaded second.json.")]


def test_a_late_rerun_after_a_refused_file_keeps_its_message_in_view():
    at = start()
    upload(at, "first.json", json.dumps(FIRST).encode())
    first = form_values(at)
    at.session_state["load_popover"] = True
    upload(at, "bad.json", b'{"age": 200, "back_pain": true}')
    ((kind, message),) = messages(at)
    assert kind == "error" and message.startswith("Could not load bad.json: ")
    at.session_state["load_popover"] = True  # the late rerun: popover open, upload box empty
    at.file_uploader(key="upload").clear()
    at.run()
    assert not at.exception
    assert at.session_state["load_popover"] is False
    assert messages(at) == [(kind, message)]
    assert form_values(at) == first


def popover_labels(at: AppTest) -> list[str]:
    found: list[str] = []

    def walk(node: Any) -> None:
        proto = getattr(node, "proto", None)
        if getattr(node, "type", None) == "popover" and proto is not None:
            found.append(proto.popover.label)
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return found


def test_the_popover_is_drawn_anew_after_each_upload_and_reads_the_same():
    """A new element after each handled upload (loaded or refused), so a browser that never saw the
    rerun which opened it still shows it closed; its label reads and looks the same."""
    at = start()
    labels = [next(label for label in popover_labels(at) if label.startswith("Load patient file"))]
    for name, content in (("first.json", json.dumps(FIRST).encode()), ("bad.json", b"{"), ("2.json", b"[")):
        upload(at, name, content)
        labels.append(next(label for label in popover_labels(at) if label.startswith("Load patient file")))
    assert all(a != b for a, b in zip(labels, labels[1:], strict=False))
    assert {label.replace("\u200b", "") for label in labels} == {"Load patient file"}
