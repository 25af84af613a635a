"""The Explore, Teaching and Knowledge-base pages, run with Streamlit's AppTest."""

import json
from pathlib import Path

import pytest
from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df
from streamlit.testing.v1 import AppTest

from decision_aid import default_aid
from decision_aid.engine import explore
from decision_aid.knowledge import catalogue
from decision_aid.knowledge.labels import OPTION_NAMES, VERDICT_WORDS
from decision_aid.models import parse_factors
from decision_aid.views import teaching

PAGES = Path(__file__).resolve().parent.parent / "app_pages"
PATIENT = json.loads(
    (Path(__file__).resolve().parent.parent / "examples" / "grade1-degenerative-stenosis.json").read_text()
)


def consulted(patient: dict, **changes) -> dict:
    """The session of a Consultation page whose form holds this patient (with `changes`), assessed."""
    return {"answers": {**parse_factors(patient).model_dump(mode="json"), **changes}, "assessed": True}


def run(page: str, **state) -> AppTest:
    at = AppTest.from_file(str(PAGES / page), default_timeout=60)
    for key, value in state.items():
        at.session_state[key] = value
    return at.run()


def calm(at: AppTest) -> None:
    """Rendered without an exception and without an error message."""
    assert not at.exception
    assert not [e.value for e in at.error]


def chart_data(at: AppTest):
    (chart,) = at.get("vega_lite_chart")
    frames = [convert_arrow_bytes_to_pandas_df(d.data.data) for d in chart.proto.datasets]
    (verdicts,) = [f for f in frames if "verdict" in f.columns]  # beside it: the threshold lines
    return verdicts


@pytest.mark.parametrize("page", ["explore.py", "teaching.py", "knowledge_base.py"])
def test_each_page_renders_with_the_knowledge_version(page):
    at = run(page)
    calm(at)
    assert any(default_aid().knowledge.version in c.value for c in at.caption)


# ---- Explore ------------------------------------------------------------------------------


def test_explore_chart_shows_the_engine_verdict_at_each_point():
    at = run("explore.py", **consulted(PATIENT))
    calm(at)
    assert at.selectbox[0].value == "The patient on the Consultation page"
    data = chart_data(at)
    for value in (2.9, 3.0):
        point = data[data["translation_mm"] == value]
        shown = dict(zip(point["option"], point["verdict"], strict=True))
        assert shown == default_aid().verdicts(parse_factors({**PATIENT, "translation_mm": value}).known_values())
        words = dict(zip(point["option name"], point["verdict in words"], strict=True))
        assert words == {OPTION_NAMES[o]: VERDICT_WORDS[v] for o, v in shown.items()}


def test_explore_says_which_patient_it_starts_from():
    at = run("explore.py", **consulted(PATIENT))
    calm(at)
    (said,) = [i.value for i in at.info if i.value.startswith("Starting from")]
    assert said == (
        "Starting from the patient on the Consultation page: age 63, back and leg pain for 52 weeks "
        "(28 of structured care), 1 symptomatic level, grade I degenerative slip, severe stenosis."
    )
    at = run("explore.py")  # nothing on the Consultation page yet: the example patient, said so
    calm(at)
    example = next(c for c in teaching.load_cases() if c.title == "Grade I degenerative slip, stable on films")
    (said,) = [i.value for i in at.info if i.value.startswith("Starting from")]
    assert said.startswith(f"Starting from the example patient (teaching case “{example.title}”): age ")
    assert said.removesuffix(".").endswith(explore.summary(example.patient))
    other = next(c for c in teaching.load_cases() if c.id == "red-flag-cauda-equina")
    at.selectbox[0].set_value(f"Teaching case: {other.title}").run()
    assert any(i.value.startswith(f"Starting from the teaching case “{other.title}”: age 47") for i in at.info)
    assert any("red flag: cauda equina syndrome" in i.value for i in at.info)


def test_explore_refuses_an_invalid_consultation_form_and_never_uses_the_last_valid_patient():
    at = AppTest.from_file(str(PAGES.parent / "app.py"), default_timeout=60)
    for key, value in consulted(PATIENT).items():
        at.session_state[key] = value
    at.run()
    at.switch_page("app_pages/explore.py").run()
    calm(at)
    assert at.get("vega_lite_chart")  # the valid patient: explored
    at.switch_page("app_pages/consultation.py").run()
    at.number_input(key="factor_conservative_care_weeks").set_value(100).run()  # more than 52 weeks of symptoms
    at.switch_page("app_pages/explore.py").run()
    assert not at.exception
    assert at.selectbox[0].value == "The patient on the Consultation page"
    (refusal,) = [e.value for e in at.error]
    assert refusal.startswith("Explore cannot start from the patient on the Consultation page")
    assert "conservative care" in refusal and "Correct it on the Consultation page" in refusal
    assert not at.get("vega_lite_chart") and not [i for i in at.info if i.value.startswith("Starting from")]
    at = run("explore.py", **consulted(PATIENT, bmi=200.0))  # out of range: refused, never left out
    assert not at.exception and not at.get("vega_lite_chart")
    assert any(e.value.startswith("Explore cannot start from the patient") and "BMI" in e.value for e in at.error)


def test_explore_two_factors_and_skipped_points():
    at = run("explore.py", **consulted(PATIENT))
    at.selectbox[1].set_value("conservative_care_weeks")
    at.selectbox[2].set_value("slip_grade").run()
    calm(at)
    data = chart_data(at)
    row = data[(data["conservative_care_weeks"] == 12) & (data["slip_grade"] == 2)]
    expected = default_aid().verdicts(
        parse_factors({**PATIENT, "conservative_care_weeks": 12, "slip_grade": 2}).known_values()
    )
    assert dict(zip(row["option"], row["verdict"], strict=True)) == expected
    assert any("not assessed" in i.value for i in at.info)  # grade 0 with a degenerative slip type
    assert set(data["slip_grade"]) == {1, 2, 3, 4, 5}


def test_explore_says_so_when_no_point_is_valid():
    at = run("explore.py", **consulted(PATIENT))  # 28 weeks of care: no symptom duration under 28 weeks is valid
    at.selectbox[1].set_value("symptom_duration_weeks").run()
    at.slider[0].set_value((0, 20)).run()
    calm(at)
    assert not at.get("vega_lite_chart")
    assert any("No point in this range" in w.value for w in at.warning)


def test_explore_compare_highlights_what_changed():
    at = run("explore.py", **consulted(PATIENT))
    at.multiselect[0].set_value(["smoker", "translation_mm"]).run()
    at.selectbox(key="b-smoker").set_value(True)
    at.number_input(key="b-translation_mm").set_value(4.0).run()
    calm(at)
    text = " ".join(m.value for m in at.markdown)
    assert "smoker: no → **yes**" in text
    assert "translation on flexion-extension (mm): 2.5 → **4.0**" in text
    assert "▼ less favourable" in text  # decompression alone: instability from 3 mm
    smoking = default_aid().knowledge.by_id["dynamic.smoking"].spec.explanation
    assert f"- only in B: *cautions* — {smoking} (`dynamic.smoking`)" in text  # each differing reason explained


def test_explore_invalid_scenario_and_patient_give_calm_messages():
    at = run("explore.py", **consulted(PATIENT))
    at.multiselect[0].set_value(["conservative_care_weeks"]).run()
    at.number_input(key="b-conservative_care_weeks").set_value(100).run()
    assert not at.exception
    assert any("conservative care" in e.value for e in at.error)
    at = run("explore.py", answers={"age": 50}, assessed=True)
    assert not at.exception
    assert any("not complete" in e.value for e in at.error)
    assert not at.get("vega_lite_chart")


# ---- Teaching -------------------------------------------------------------------------------


def verdict_radios(at: AppTest) -> list:
    return [r for r in at.radio if r.key.startswith("answer-")]


def triage_radio(at: AppTest):
    (radio,) = [r for r in at.radio if r.key.startswith("triage-")]
    return radio


def test_teaching_hides_the_answer_until_submitted_then_scores_like_the_package():
    at = run("teaching.py")
    calm(at)
    case = next(c for c in teaching.load_cases() if c.id == at.selectbox[0].value)
    assert not at.metric and len(verdict_radios(at)) == 6
    assert at.radio[0] is not None and at.radio[0].key == f"triage-{case.id}"  # asked first
    triage_radio(at).set_value("elective")
    answers = {}
    for radio, verdict in zip(
        verdict_radios(at),
        ["worth_discussing", "not_advised", "not_advised", "not_advised", "not_applicable", "discuss_with_caution"],
        strict=True,
    ):
        radio.set_value(verdict)
        answers[radio.key.rsplit("-", 1)[-1]] = verdict  # key: answer-<case id>-<option>
    assert set(answers) == set(OPTION_NAMES)
    at.button[0].click().run()
    calm(at)
    expected = teaching.score_case(default_aid().assess(case.patient), answers, "elective")
    assert expected.total == 7
    assert [m.value for m in at.metric] == [f"{expected.right} / {expected.total}"]
    assert not at.radio  # committed: the form is gone
    titles = [e.label for e in at.expander]
    assert "1. Facts sent to the engine" in titles and "5. How each verdict was reached" not in titles
    next(b for b in at.button if b.label == "Show every step").click().run()
    calm(at)
    assert "5. How each verdict was reached" in [e.label for e in at.expander]


def test_teaching_asks_urgent_or_elective_then_every_verdict_before_scoring():
    at = run("teaching.py")
    verdict_radios(at)[0].set_value("worth_discussing")
    at.button[0].click().run()
    calm(at)
    assert not at.metric
    assert any("urgent referral or elective discussion" in w.value for w in at.warning)
    triage_radio(at).set_value("elective")
    at.button[0].click().run()
    assert not at.metric
    assert any("every option" in w.value for w in at.warning)


def red_flag_case(at: AppTest) -> AppTest:
    at.multiselect[0].set_value(["red flags"]).run()
    assert at.selectbox[0].value.startswith("red-flag")
    return at


def test_teaching_red_flag_case_asks_urgent_or_elective_and_shows_the_urgent_banner():
    at = red_flag_case(run("teaching.py"))
    triage_radio(at).set_value("urgent")
    at.button[0].click().run()  # no verdict needed: the red flag suspends them all
    assert not at.exception
    assert [m.value for m in at.metric] == ["1 / 1"]
    (banner,) = [e.value for e in at.error]
    assert banner.startswith("### Urgent referral: not an elective discussion")
    assert "emergency" in banner.lower() and "Every elective option is suspended" in banner
    table = next(m.value for m in at.markdown if "<table" in m.value)
    assert "urgent referral" in table and "not applicable" not in table  # no verdict marked beside the referral


def test_teaching_red_flag_case_missed_scores_nothing_and_still_shows_the_banner():
    at = red_flag_case(run("teaching.py"))
    triage_radio(at).set_value("elective")
    for radio in verdict_radios(at):
        radio.set_value("not_applicable")  # the answer that scored 6 / 6 before the triage question
    at.button[0].click().run()
    assert not at.exception
    assert [m.value for m in at.metric] == ["0 / 1"]
    assert any(e.value.startswith("### Urgent referral") for e in at.error)
    assert any("not scored" in c.value for c in at.caption)


# ---- Knowledge base ---------------------------------------------------------------------------


def test_knowledge_base_search_filters_the_list():
    at = run("knowledge_base.py")
    entries = catalogue.entries(default_aid().knowledge)
    assert len(at.expander) == len(entries)
    at.text_input[0].input("osteoporosis").run()
    calm(at)
    expected = catalogue.search(entries, "osteoporosis")
    assert 0 < len(at.expander) == len(expected) < len(entries)
    assert all(e.id in x.label for e, x in zip(expected, at.expander, strict=True))
    at.multiselect[0].set_value(["fusion"]).run()
    assert len(at.expander) == len(catalogue.search(entries, "osteoporosis", options=["fusion"]))


def test_knowledge_base_shows_readable_conditions_and_review_dates():
    at = run("knowledge_base.py")
    at.text_input[0].input("fusion.slip-grade-2-or-more").run()
    text = " ".join(m.value for m in at.markdown)
    assert "slip grade is II or more" in text
    assert any("reviewed 2026" in c.value for c in at.caption)


def test_a_failure_inside_a_page_shows_a_calm_message(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(catalogue, "search", broken)
    at = run("knowledge_base.py")
    assert not at.exception
    assert [e.value for e in at.error] and "boom" not in at.error[0].value


def test_a_failing_page_shows_a_calm_message_and_the_footer_never_a_traceback():
    def broken_page():
        from app_pages import ui

        def body():
            raise RuntimeError("boom")

        ui.show_page(body, "Broken", "Please reload.")

    at = AppTest.from_function(broken_page, default_timeout=60).run()
    assert not at.exception
    assert any("something went wrong" in e.value and "Please reload." in e.value for e in at.error)
    assert any("Knowledge version" in c.value for c in at.caption)
