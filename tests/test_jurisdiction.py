"""The jurisdiction setting: 'uk' (the default) or 'us' (contract.md, "Version 2 additions";
clinical-reference.md, section 10). Expected verdicts come from the reference, not from the engine.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import textstat

from decision_aid import DecisionAid, InputError, assess, default_aid
from decision_aid.engine.what_would_change import what_would_change
from decision_aid.models import OPTIONS, parse_factors
from decision_aid.views.handout_content import strip_marks
from tests.cli_support import run_cli
from tests.conftest import variant

DATA = Path(__file__).resolve().parent.parent / "examples"
WD, DWC, NADV, NA = "worth_discussing", "discuss_with_caution", "not_advised", "not_applicable"

# clinical-reference.md, section 10: "an in-label disc replacement patient"
IN_LABEL = json.loads((DATA / "in-label-disc-replacement.json").read_text())
# the "Done when": a failed Dynesys, 30 weeks of conservative care, no other caution
FAILED_DYNESYS = json.loads((DATA / "failed-dynesys.json").read_text())

# a grade I degenerative slip with moderate stenosis and leg pain, stable on films: dynamic
# stabilisation is worth discussing with no device condition (tests/conftest.py)
STABLE_SLIP = variant("degenerative_slip")


def verdicts(patient: dict[str, Any], jurisdiction: str | None = None) -> dict[str, str]:
    return {o: r.verdict for o, r in assess(patient, jurisdiction).options.items()}


def reasons(patient: dict[str, Any], option: str, jurisdiction: str | None = None) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for r in assess(patient, jurisdiction).options[option].reasons:
        out.setdefault(r.rule_id, set()).add(r.effect)
    return out


@pytest.fixture
def run(capfdbinary):
    """`decision-aid ARGS`, run in this process (tests/cli_support.py)."""
    return lambda *args: run_cli(capfdbinary, *args)


# ---- the examples of section 10 and of the issue --------------------------------------------


def test_the_in_label_disc_replacement_patient_is_discussed_in_the_usa_and_not_advised_in_the_uk():
    us = verdicts(IN_LABEL, "us")
    assert us["disc_replacement"] == WD
    assert us["fusion"] == DWC
    uk = verdicts(IN_LABEL)
    assert uk["disc_replacement"] == NADV and uk["fusion"] == NADV
    assert verdicts(IN_LABEL, "uk") == uk  # 'uk' is the default


def test_with_20_weeks_of_care_the_in_label_patient_is_discussed_with_caution_in_the_usa():
    twenty = {**IN_LABEL, "conservative_care_weeks": 20}
    assert verdicts(twenty, "us")["disc_replacement"] == DWC
    assert reasons(twenty, "disc_replacement", "us")["disc-replacement.below-label-care"] == {"cautions"}
    assert verdicts(twenty)["disc_replacement"] == NADV


@pytest.mark.parametrize("jurisdiction", ["uk", "us"])
def test_a_failed_dynesys_is_revision_surgery_not_a_primary_fusion(jurisdiction):
    a = assess(FAILED_DYNESYS, jurisdiction)
    assert a.options["fusion"].verdict == NA
    assert [r.rule_id for r in a.options["fusion"].reasons] == ["fusion.problem-at-previous-implant"]
    assert a.options["revision_surgery"].verdict == WD
    assert "revision.implant-mechanical-failure" in {r.rule_id for r in a.options["revision_surgery"].reasons}
    assert a.options["dynamic_stabilisation"].verdict == NADV  # no second non-fusion device at a failed one


def test_the_examples_are_valid_patients_without_a_jurisdiction_field():
    for example in (IN_LABEL, FAILED_DYNESYS):
        assert "jurisdiction" not in example
        assess(example)


# ---- the assessment and the Python API ----------------------------------------------------------


def test_the_assessment_says_which_jurisdiction_it_follows_beside_the_knowledge_version():
    uk, us = assess(IN_LABEL), assess(IN_LABEL, "us")
    assert (uk.jurisdiction, us.jurisdiction) == ("uk", "us")
    keys = list(json.loads(uk.model_dump_json()))
    assert keys[-2:] == ["knowledge_version", "jurisdiction"]
    assert assess(IN_LABEL, "us").model_dump_json() == us.model_dump_json()  # deterministic


@pytest.mark.parametrize("bad", ["UK", "fr", "", 0])
def test_a_bad_jurisdiction_names_the_jurisdiction_and_what_is_allowed(bad):
    for call in (assess, default_aid().assess, default_aid().explain):
        with pytest.raises(InputError) as caught:
            call(IN_LABEL, bad)
        assert [p.field for p in caught.value.problems] == ["jurisdiction"]


def test_the_verdict_cache_keeps_the_jurisdictions_apart():
    aid = DecisionAid(default_aid().knowledge)  # a fresh cache
    values = parse_factors(IN_LABEL).known_values()
    first = aid.verdicts(values)
    us = aid.verdicts(values, "us")
    assert first["disc_replacement"] == NADV and us["disc_replacement"] == WD
    assert aid.verdicts(values, "uk") == first and aid.verdicts(values, "us") == us
    facts = aid.explain(IN_LABEL, "us").facts  # an explained assessment's facts carry the jurisdiction
    assert facts["jurisdiction"] == "us" and aid.verdicts(facts) == us


@pytest.mark.parametrize("jurisdiction", ["uk", "us"])
@pytest.mark.parametrize(
    "patient",
    [IN_LABEL, {**IN_LABEL, "odi": None, "pfirrmann_grade": None}, FAILED_DYNESYS, variant("slip_no_films")],
    ids=["in label", "in label, unknowns", "failed dynesys", "slip without films"],
)
def test_missing_information_and_what_would_change_never_vary_the_jurisdiction(patient, jurisdiction):
    aid = default_aid()
    explained = aid.explain(patient, jurisdiction)
    assert all(m.field != "jurisdiction" for m in explained.assessment.missing_information)
    for option, suggestions in what_would_change(aid, patient, explained).items():
        for s in suggestions:
            assert s.field != "jurisdiction"
            changed = {**patient, s.field: s.value}
            if s.field == "conservative_care_weeks":
                changed["symptom_duration_weeks"] = patient["symptom_duration_weeks"] + (
                    s.value - patient["conservative_care_weeks"]
                )
            assert assess(changed, jurisdiction).options[option].verdict == s.to_verdict, s.text


def test_in_the_usa_an_unknown_odi_is_missing_for_disc_replacement_and_films_with_no_slip_are_not():
    unknown = {**IN_LABEL, "odi": None}
    us = {m.field: m.options for m in assess(unknown, "us").missing_information}
    assert "disc_replacement" in us.get("odi", [])
    assert "translation_mm" not in us and "angulation_deg" not in us  # no slip: films not routinely taken
    assert "odi" not in {m.field for m in assess(unknown).missing_information}  # uk: it changes nothing


# ---- what the setting changes (section 10 table) --------------------------------------------------


def test_in_the_usa_a_coflex_condition_opposes_dynamic_stabilisation():
    coflex = {**STABLE_SLIP, "index_level": "L5-S1"}
    assert verdicts(coflex)["dynamic_stabilisation"] == DWC  # uk: the Dynesys type remains
    assert verdicts(coflex, "us")["dynamic_stabilisation"] == NADV
    assert reasons(coflex, "dynamic_stabilisation", "us")["dynamic.us-coflex-only"] == {"opposes"}


def test_in_the_usa_dynesys_conditions_do_not_apply_and_the_coflex_type_remains():
    dynesys = {**STABLE_SLIP, "scoliosis_cobb_deg": 15.0}
    assert verdicts(dynesys)["dynamic_stabilisation"] == DWC
    assert verdicts(dynesys, "us")["dynamic_stabilisation"] == WD
    assert "dynamic.dynesys-cobb-10-to-25" not in reasons(dynesys, "dynamic_stabilisation", "us")
    assert verdicts(STABLE_SLIP, "us")["dynamic_stabilisation"] == WD  # [both] conditions only: as in the uk


def test_the_regulatory_notes_follow_the_jurisdiction():
    def notes(option, jurisdiction):
        return {n.rule_id for n in assess(IN_LABEL, jurisdiction).options[option].notes}

    assert "dynamic.note-us-regulatory" in notes("dynamic_stabilisation", "uk")
    assert "dynamic.note-us-regulatory" not in notes("dynamic_stabilisation", "us")
    assert {"disc-replacement.note-ipg306", "disc-replacement.note-us-approval"} <= notes("disc_replacement", "uk")
    assert {
        "disc-replacement.note-uk-nice",
        "disc-replacement.note-us-coverage",
        "disc-replacement.note-us-approval",
    } <= (notes("disc_replacement", "us"))


def test_in_the_usa_translation_over_2_mm_with_stenosis_supports_fusion_with_caution():
    nass = variant("stenosis", translation_mm=2.5)
    assert verdicts(nass)["fusion"] == NADV  # uk: fusion added nothing below 3 mm
    found = reasons(nass, "fusion", "us")
    assert found["fusion.us-nass-translation-over-2mm"] == {"supports", "cautions"}
    assert "fusion.stenosis-without-slip-or-instability" not in found
    assert verdicts(nass, "us")["fusion"] == DWC
    assert verdicts(variant("stenosis", translation_mm=2.0), "us")["fusion"] == NADV


def test_in_the_usa_an_odi_under_40_cautions_disc_replacement():
    assert verdicts({**IN_LABEL, "odi": 39}, "us")["disc_replacement"] == DWC
    assert verdicts({**IN_LABEL, "odi": 40}, "us")["disc_replacement"] == WD


def test_previous_fusion_or_implant_rules_hold_in_both_jurisdictions():
    for jurisdiction in ("uk", "us"):
        next_to_coflex = {**variant("axial_pain"), "prior_motion_implant": "interlaminar_device"}
        next_to_coflex["motion_implant_state"] = "adjacent_level"
        found = reasons(next_to_coflex, "fusion", jurisdiction)
        assert "fusion.axial-back-pain-only-no-slip" not in found  # NICE's advice does not cover it
        assert verdicts(next_to_coflex, jurisdiction)["fusion"] != NA  # primary options stay applicable


# ---- words --------------------------------------------------------------------------------------

UK_ONLY = re.compile(r"\b(A&E|GIRFT|NICE|suspected-cancer pathway)\b")


def test_in_the_usa_alerts_and_red_flag_reasons_name_no_uk_body():
    for flag in default_aid().knowledge.red_flags:
        us = flag.spec.in_("us")
        assert not UK_ONLY.search(us.alert), flag.spec.id
        assert not UK_ONLY.search(us.explanation), flag.spec.id
    urgent = assess({**IN_LABEL, "suspected_tumour": True}, "us")
    assert urgent.urgent_referral and "cancer specialist" in urgent.alerts[0].message
    assert "suspected-cancer pathway" in assess({**IN_LABEL, "suspected_tumour": True}).alerts[0].message


def test_coflex_rules_name_the_dynesys_type_that_remains_only_in_the_uk():
    tagged = [c.spec for c in default_aid().knowledge.rules if "coflex_unsuitable" in c.spec.tags]
    assert len(tagged) >= 9
    for spec in tagged:
        assert "Dynesys" in spec.explanation and "screws and flexible rods" in spec.patient_explanation, spec.id
        us = spec.in_("us")
        assert "Dynesys" not in us.explanation and "screws" not in us.patient_explanation, spec.id
        assert "USA" in us.explanation, spec.id


def test_every_us_patient_text_reads_at_grade_8_or_below():
    names = re.compile(
        r"\b(conservative care|decompression alone|dynamic stabilisation|fusion|revision surgery|disc replacement"
        r"|stenosis|degenerative slip|isthmic slip|pars defect|disc degeneration|disc herniation|failed fusion)\b",
        re.IGNORECASE,
    )
    knowledge = default_aid().knowledge
    texts = [
        c.spec.in_("us").patient_explanation
        for c in (*knowledge.rules, *knowledge.red_flags)
        if "us" in c.spec.in_jurisdiction
    ]
    assert texts
    for text in texts:
        assert textstat.flesch_kincaid_grade(names.sub("", strip_marks(text))) <= 8, text


def test_only_the_words_differ_by_jurisdiction_never_the_condition_or_effects():
    for c in default_aid().knowledge.rules:
        us = c.spec.in_("us")
        assert (us.id, us.when, us.effects, us.tags, us.evidence) == (
            c.spec.id,
            c.spec.when,
            c.spec.effects,
            c.spec.tags,
            c.spec.evidence,
        )


# ---- the command line -------------------------------------------------------------------------


def test_cli_assess_takes_the_jurisdiction(run):
    us = run("assess", str(DATA / "in-label-disc-replacement.json"), "--jurisdiction", "us", "--format", "json")
    assert us.returncode == 0, us.stderr
    out = json.loads(us.stdout)
    assert out["jurisdiction"] == "us" and out["options"]["disc_replacement"]["verdict"] == WD
    default = json.loads(run("assess", str(DATA / "in-label-disc-replacement.json"), "--format", "json").stdout)
    assert default["jurisdiction"] == "uk" and default["options"]["disc_replacement"]["verdict"] == NADV
    text = run("assess", str(DATA / "in-label-disc-replacement.json"), "--jurisdiction", "us")
    assert "USA guidance" in text.stdout.splitlines()[0]


@pytest.mark.parametrize("command", ["assess", "batch", "handout"])
def test_cli_a_bad_jurisdiction_is_a_usage_error_naming_the_allowed_values(command, tmp_path, run):
    extra = ["-o", str(tmp_path / "out.pdf")] if command == "handout" else []
    done = run(command, str(DATA / "in-label-disc-replacement.json"), *extra, "--jurisdiction", "fr")
    assert done.returncode == 1
    assert "--jurisdiction" in done.stderr and "'uk'" in done.stderr and "'us'" in done.stderr
    assert not (tmp_path / "out.pdf").exists()


def test_cli_a_patient_file_naming_the_jurisdiction_is_invalid_input(tmp_path, run):
    path = tmp_path / "patient.json"
    path.write_text(json.dumps({**IN_LABEL, "jurisdiction": "us"}))
    done = run("assess", str(path))
    assert done.returncode == 2
    assert "jurisdiction: unknown field" in done.stderr


def test_cli_batch_assesses_every_line_under_the_jurisdiction(tmp_path, run):
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(json.dumps(p) for p in (IN_LABEL, FAILED_DYNESYS)) + "\n")
    done = run("batch", str(source), "-o", str(tmp_path / "out.jsonl"), "--jurisdiction", "us")
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [line["jurisdiction"] for line in lines] == ["us", "us"]
    assert lines[0]["options"]["disc_replacement"]["verdict"] == WD
    assert lines[1]["options"]["revision_surgery"]["verdict"] == WD


def test_cli_handout_takes_the_jurisdiction(tmp_path, run):
    out = tmp_path / "handout.pdf"
    done = run("handout", str(DATA / "in-label-disc-replacement.json"), "-o", str(out), "--jurisdiction", "us")
    assert done.returncode == 0, done.stderr
    assert out.read_bytes().startswith(b"%PDF")


def test_every_option_is_assessed_in_both_jurisdictions():
    for patient in (IN_LABEL, FAILED_DYNESYS, STABLE_SLIP):
        for jurisdiction in ("uk", "us"):
            assert list(assess(patient, jurisdiction).options) == list(OPTIONS)


@pytest.mark.parametrize(("jurisdiction", "words"), [("uk", "UK guidance"), ("us", "USA guidance")])
def test_the_letter_and_the_handout_say_whose_guidance(jurisdiction, words):
    from decision_aid.views.handout import handout_content
    from decision_aid.views.letter import clinic_letter

    aid = default_aid()
    patient = json.loads((DATA / "in-label-disc-replacement.json").read_text())
    assessment = aid.assess(patient, jurisdiction=jurisdiction)
    assert f"under {words}" in clinic_letter(assessment, aid.knowledge)
    handout = handout_content(patient, aid=aid, assessment=assessment)
    assert words in handout.footer
    assert f"under {words}" in repr(handout.sections[0])


def test_a_usa_handout_uses_no_uk_only_terms():
    from decision_aid.views.handout import handout_content

    aid = default_aid()
    for name in ("cauda-equina.json", "in-label-disc-replacement.json"):
        patient = json.loads((DATA / name).read_text())
        usa = repr(handout_content(patient, aid=aid, assessment=aid.assess(patient, jurisdiction="us")))
        uk = repr(handout_content(patient, aid=aid, assessment=aid.assess(patient, jurisdiction="uk")))
        assert "A&E" not in usa and "emergency department" in usa
        assert "A&E" in uk
