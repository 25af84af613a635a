"""The jurisdiction in the app: the deployment's default, the per-session switch shown on every page,
the Consultation page (assessment, save, load), Teaching, Explore and the Knowledge base, via AppTest."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from decision_aid.engine import explore
from decision_aid.errors import InputError
from decision_aid.knowledge import catalogue
from decision_aid.knowledge.labels import OPTION_NAMES, VERDICT_WORDS
from decision_aid.views.consultation import consult, load_record
from decision_aid.views.teaching import load_cases
from tests.test_app_hostile import messages as load_messages

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
PAGES = ("app_pages/consultation.py", "app_pages/explore.py", "app_pages/teaching.py", "app_pages/knowledge_base.py")
IN_LABEL = json.loads((ROOT / "examples" / "in-label-disc-replacement.json").read_text())
ENV = "DECISION_AID_JURISDICTION"
CHOICE = "jurisdiction_choice"


@pytest.fixture(autouse=True)
def unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV, raising=False)


def start(page: str | None = None) -> AppTest:
    at = AppTest.from_file(APP if page is None else str(ROOT / page), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


def footer(at: AppTest) -> str:
    (text,) = [c.value for c in at.caption if c.value.startswith("Knowledge version") and "does not replace" in c.value]
    return text


def switch(at: AppTest, jurisdiction: str) -> AppTest:
    at.button_group(key=CHOICE).set_value(jurisdiction).run()
    assert not at.exception, at.exception
    return at


def upload(at: AppTest, name: str, content: bytes) -> AppTest:
    at.file_uploader(key="upload").upload(name, content, "application/json").run()
    assert not at.exception, at.exception
    return at


def card(at: AppTest, option: str) -> str:
    (text,) = [m.value for m in at.markdown if m.value.startswith(f"#### {OPTION_NAMES[option]}\n")]
    return text


def shows_verdict(at: AppTest, option: str, verdict: str) -> bool:
    badge = re.search(r"</span>\u00a0([^<]+)</span>", card(at, option))
    return badge is not None and badge[1] == VERDICT_WORDS[verdict]


# ---- the deployment's default ------------------------------------------------------------------


def test_the_default_is_uk_shown_beside_the_knowledge_version():
    at = start()
    assert at.session_state["jurisdiction"] == "uk"
    assert at.button_group(key=CHOICE).value == "uk"
    assert "UK guidance" in footer(at)
    assert any(c.value.startswith("Knowledge version") and "does not" not in c.value for c in at.caption)


@pytest.mark.parametrize("configured", ["us", " US "])
def test_the_default_comes_from_the_deployments_configuration(monkeypatch, configured):
    monkeypatch.setenv(ENV, configured)
    at = start()
    assert at.session_state["jurisdiction"] == "us"
    assert at.button_group(key=CHOICE).value == "us"
    assert "USA guidance" in footer(at)
    assert not load_messages(at)


def test_a_bad_configured_value_is_refused_with_a_clear_message(monkeypatch):
    monkeypatch.setenv(ENV, "france")
    for page in PAGES:
        at = start(page)
        ((kind, text),) = [m for m in load_messages(at) if ENV in m[1]]
        assert kind == "error" and "'france'" in text and "uk or us" in text and "UK guidance" in text, text
        assert at.session_state["jurisdiction"] == "uk"
        assert "UK guidance" in footer(at)


# ---- Consultation ----------------------------------------------------------------------------


def test_switching_changes_the_verdicts_and_every_page_shows_it():
    at = start()
    upload(at, "in-label.json", json.dumps(IN_LABEL).encode())
    assert shows_verdict(at, "disc_replacement", "not_advised")
    switch(at, "us")
    assert shows_verdict(at, "disc_replacement", "worth_discussing")
    assert at.session_state["jurisdiction"] == "us"
    for page in PAGES:
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
        assert "USA guidance" in footer(at), page
        assert at.button_group(key=CHOICE).value == "us", page
    at.switch_page("app_pages/consultation.py").run()
    assert shows_verdict(at, "disc_replacement", "worth_discussing")  # the switch holds for the session
    switch(at, "uk")
    assert shows_verdict(at, "disc_replacement", "not_advised")
    assert "UK guidance" in footer(at)


def test_the_saved_record_stores_the_jurisdiction():
    for jurisdiction in ("uk", "us"):
        record = json.loads(consult(IN_LABEL, jurisdiction=jurisdiction).record_json())
        assert record["jurisdiction"] == record["assessment"]["jurisdiction"] == jurisdiction
        assert load_record(json.dumps(record)).jurisdiction == jurisdiction
    assert load_record(json.dumps(IN_LABEL)).jurisdiction is None  # a bare patient file names none
    old = consult(IN_LABEL).record()
    del old["jurisdiction"], old["assessment"]["jurisdiction"]
    assert load_record(json.dumps(old)).jurisdiction == "uk"  # saved before the setting: the default
    with pytest.raises(InputError) as error:
        load_record(json.dumps({**old, "jurisdiction": "fr"}))
    assert error.value.problems[0].field == "jurisdiction"
    assert consult(IN_LABEL, jurisdiction="us").assessment.options["disc_replacement"].verdict == "worth_discussing"


def test_the_page_saves_under_the_sessions_jurisdiction():
    at = start()
    upload(at, "in-label.json", json.dumps(IN_LABEL).encode())
    switch(at, "us")
    (button,) = [b for b in at.get("download_button") if "Save consultation" in b.proto.label]
    assert "jurisdiction" in button.proto.help


def test_loading_a_record_made_under_the_other_jurisdiction_says_so_and_keeps_the_sessions():
    at = start()
    saved = consult(IN_LABEL, jurisdiction="us").record_json().encode()
    upload(at, "saved-us.json", saved)
    ((kind, text),) = load_messages(at)
    assert kind == "success" and text.startswith("Loaded saved-us.json."), text
    assert "saved under USA guidance" in text and "follow UK guidance" in text, text
    assert at.session_state["jurisdiction"] == "uk"
    assert shows_verdict(at, "disc_replacement", "not_advised")
    # the same jurisdiction, or a bare patient file: nothing to say
    upload(at, "saved-uk.json", consult(IN_LABEL, jurisdiction="uk").record_json().encode())
    ((kind, text),) = load_messages(at)
    assert text == "Loaded saved-uk.json."


# ---- Teaching, Explore, Knowledge base ---------------------------------------------------------


@pytest.mark.parametrize("session", ["uk", "us"])
def test_teaching_assesses_each_case_under_its_own_jurisdiction(session):
    case = next(c for c in load_cases() if c.id == "in-label-disc-replacement-us")
    at = AppTest.from_file(str(ROOT / "app_pages/teaching.py"), default_timeout=60)
    at.session_state["jurisdiction"] = session
    at.run()
    at.selectbox[0].set_value(case.id).run()
    shown = " ".join(i.value for i in at.info)
    assert "set under **USA guidance**" in shown
    assert ("does not apply to teaching cases" in shown) == (session != "us")
    at.radio(key=f"triage-{case.id}").set_value("elective")
    for option, verdict in case.spec.expected.items():
        at.radio(key=f"answer-{case.id}-{option}").set_value(verdict)
    next(b for b in at.button if b.label == "Submit my answers").click().run()
    assert not at.exception, at.exception
    (metric,) = at.metric
    assert metric.value == f"{len(OPTION_NAMES) + 1} / {len(OPTION_NAMES) + 1}"  # the engine agrees: USA verdicts


def test_explore_compares_the_patient_under_both_jurisdictions_side_by_side(aid):
    result = explore.compare_jurisdictions(IN_LABEL, aid=aid)
    assert result.jurisdictions == ("uk", "us") and not result.differences
    (changed,) = [o for o in result.changed if o.option == "disc_replacement"]
    assert (changed.verdict_a, changed.verdict_b) == ("not_advised", "worth_discussing")

    at = start("app_pages/explore.py")
    at.selectbox[0].set_value("Teaching case: A disc replacement candidate by the US label, in the UK").run()
    assert not at.exception, at.exception
    tab = next(t for t in at.tabs if t.label == "Compare UK and USA guidance")
    text = " ".join(m.value for m in tab.markdown)
    assert "UK guidance</th>" in text and "USA guidance</th>" in text
    assert re.search(r"Verdicts that differ:\*\* [^.]*disc replacement", text)
    row = re.search(r"<td>Disc replacement</td>(.*?)</tr>", text)
    assert row and VERDICT_WORDS["not_advised"] in row[1] and VERDICT_WORDS["worth_discussing"] in row[1]


def test_explore_varies_under_the_sessions_jurisdiction(aid):
    uk = explore.sweep(IN_LABEL, {"odi": (30, 48)}, aid=aid)
    us = explore.sweep(IN_LABEL, {"odi": (30, 48)}, aid=aid, jurisdiction="us")
    assert uk.verdicts_at(odi=48)["disc_replacement"] == "not_advised"
    assert us.verdicts_at(odi=48)["disc_replacement"] == "worth_discussing"
    assert us.verdicts_at(odi=30)["disc_replacement"] == "discuss_with_caution"


def expander_labels(at: AppTest) -> list[str]:
    return [e.label for e in at.expander]


def test_the_knowledge_base_filters_by_jurisdiction_and_marks_specific_rules():
    at = start("app_pages/knowledge_base.py")
    labels = expander_labels(at)
    us_only = next(label for label in labels if "disc-replacement.us-minimal-disability" in label)
    assert us_only.startswith("⚖ USA only")
    assert any("red-flag.tumour" in label and "words differ in the USA" in label for label in labels)
    assert not any(
        "⚖" in label for label in labels if "(fusion.smoker" in label or label.startswith("rule: fusion.smok")
    )
    at.selectbox(key="kb_jurisdiction").set_value("uk").run()
    labels = expander_labels(at)
    assert not any("disc-replacement.us-minimal-disability" in label for label in labels)
    assert any("disc-replacement.note-ipg306" in label for label in labels)
    at.selectbox(key="kb_jurisdiction").set_value("us").run()
    labels = expander_labels(at)
    assert any("disc-replacement.us-minimal-disability" in label for label in labels)
    assert not any("disc-replacement.note-ipg306" in label for label in labels)
    at.checkbox(key="kb_specific").check().run()
    labels = expander_labels(at)
    assert labels and all(label.startswith("⚖") for label in labels if label.split(":")[0].endswith(("rule", "flag")))
    assert not at.exception


def test_the_catalogue_knows_where_each_rule_applies(aid):
    entries = {e.id: e for e in catalogue.entries(aid.knowledge)}
    assert entries["disc-replacement.us-minimal-disability"].jurisdictions == ("us",)
    assert entries["disc-replacement.note-ipg306"].jurisdictions == ("uk",)
    assert entries["red-flag.tumour"].jurisdiction_specific and entries["red-flag.tumour"].jurisdictions == ("uk", "us")
    plain = [e for e in entries.values() if not e.jurisdiction_specific]
    assert plain and all(e.jurisdictions == ("uk", "us") for e in plain)
    found = catalogue.search(entries.values(), jurisdiction="uk", specific_only=True)
    assert found and all(e.jurisdiction_specific and "uk" in e.jurisdictions for e in found)
