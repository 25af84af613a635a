"""Invariants of the engine over generated valid patients (hypothesis)."""

import json
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from decision_aid import OPTIONS, DecisionAid, default_aid
from decision_aid.engine.verdicts import VERDICT_RANK
from decision_aid.knowledge.files import rules_dir
from decision_aid.knowledge.loader import load
from tests.strategies import VERSION_2_FIELDS, patients

pytestmark = pytest.mark.slow  # 150 generated patients per property

SURGICAL = [o for o in OPTIONS if o != "conservative_care"]
EFFECT_ORDER = ["excludes", "opposes", "cautions", "supports"]
RED_FLAG_RULES = {
    "cauda_equina_syndrome": "red-flag.cauda-equina",
    "suspected_infection": "red-flag.infection",
    "suspected_tumour": "red-flag.tumour",
    "suspected_fracture": "red-flag.fracture",
}
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

aid = default_aid()


def verdicts(patient):
    return {o: r.verdict for o, r in aid.assess(patient).options.items()}


def no_better(after: str, before: str) -> bool:
    return VERDICT_RANK[after] >= VERDICT_RANK[before]


@SETTINGS
@given(patients(red_flags=None))
def test_every_option_has_a_verdict_and_traceable_reasons(patient):
    assessment = aid.assess(patient)
    assert list(assessment.options) == list(OPTIONS)
    for option, result in assessment.options.items():
        assert result.reasons, option
        for reason in result.reasons:
            assert reason.rule_id in aid.knowledge.by_id
            assert all(c in aid.knowledge.citations for c in reason.evidence)
        for note in result.notes:
            assert note.rule_id in aid.knowledge.by_id
        keys = [(EFFECT_ORDER.index(r.effect), r.rule_id) for r in result.reasons]
        assert keys == sorted(keys)
        if result.verdict == "not_applicable":
            assert {r.effect for r in result.reasons} == {"excludes"}


@SETTINGS
@given(patients(red_flags=None))
def test_same_input_gives_byte_identical_json(patient):
    first = aid.assess(patient).model_dump_json()
    assert aid.assess(dict(reversed(list(patient.items())))).model_dump_json() == first
    assert aid.assess(json.dumps(patient)).model_dump_json() == first


@SETTINGS
@given(patients(red_flags=True))
def test_red_flags_always_win(patient):
    assessment = aid.assess(patient)
    expected = {rule for field, rule in RED_FLAG_RULES.items() if patient.get(field)}
    if patient["motor_deficit"] in ("severe", "progressive"):
        expected.add(f"red-flag.{patient['motor_deficit']}-motor-deficit")
    assert assessment.urgent_referral
    assert len(assessment.alerts) == len(expected)
    assert assessment.missing_information == []
    for result in assessment.options.values():
        assert result.verdict == "not_applicable"
        assert [r.rule_id for r in result.reasons] == sorted(expected)


def problem_at_previous_fusion_or_implant(patient) -> bool:
    """contract.md, "Previous fusion" and "Previous fusion or implant": fusion is then revision surgery."""
    state = patient.get("motion_implant_state")
    return (
        patient["prior_fusion"] in ("pseudarthrosis", "hardware_failure")
        or patient["adjacent_segment_disease"]
        or state in ("mechanical_failure", "symptoms_at_implant")
        or (state == "adjacent_level" and patient["prior_motion_implant"] == "dynamic_stabilisation")
    )


@SETTINGS
@given(patients(), st.sampled_from(["uk", "us"]))
def test_previous_fusion_or_implant_decides_which_of_fusion_and_revision_applies(patient, jurisdiction):
    result = {o: r.verdict for o, r in aid.assess(patient, jurisdiction).options.items()}
    neither = patient["prior_fusion"] == "none" and patient.get("prior_motion_implant", "none") == "none"
    # revision is not applicable exactly when there is neither a previous fusion nor an implant
    assert (result["revision_surgery"] == "not_applicable") == neither
    assert (result["fusion"] == "not_applicable") == problem_at_previous_fusion_or_implant(patient)


@SETTINGS
@given(patients(red_flags=True))
def test_the_jurisdiction_never_changes_an_urgent_referral(patient):
    uk, us = aid.assess(patient, "uk"), aid.assess(patient, "us")
    assert uk.urgent_referral and us.urgent_referral
    assert [a.code for a in uk.alerts] == [a.code for a in us.alerts]
    for option in OPTIONS:
        assert uk.options[option].verdict == us.options[option].verdict == "not_applicable"
        assert [r.rule_id for r in uk.options[option].reasons] == [r.rule_id for r in us.options[option].reasons]
    assert uk.missing_information == us.missing_information == []


@SETTINGS
@given(patients(red_flags=None))
def test_the_jurisdiction_decides_urgency_never(patient):
    assert aid.assess(patient, "uk").urgent_referral == aid.assess(patient, "us").urgent_referral


# ---- version 1 patients: the same assessment under the default jurisdiction ---------------------

# contract.md, "Version 2 additions": the four rules that fire on version-1 fields. Only the first
# may change a verdict (dynamic stabilisation, for a recurrent herniation with leg pain).
FOUR_RULES = {
    "dynamic.recurrent-herniation",
    "disc-replacement.below-label-care",
    "disc-replacement.prior-discectomy",
    "disc-replacement.note-ipg306",
}
MAY_CHANGE_A_VERDICT = {"dynamic.recurrent-herniation"}


@pytest.fixture(scope="module")
def version_1_aid(tmp_path_factory) -> DecisionAid:
    """The knowledge base before version 2 (tests/data/knowledge_2026.11.22), with today's field declarations."""
    directory = tmp_path_factory.mktemp("knowledge") / "rules"
    shutil.copytree(Path(__file__).parent / "data" / "knowledge_2026.11.22", directory)
    shutil.copy(rules_dir() / "fields.yaml", directory / "fields.yaml")
    return DecisionAid(load(directory))


def version_1_differences(before, after) -> list[str]:
    """What differs between the two assessments of one version-1 patient, other than what the
    contract allows: the jurisdiction and knowledge version, what the four rules add (and, where
    dynamic.recurrent-herniation supports dynamic stabilisation, the verdict and the "nothing
    indicates it" reason it replaces), missing information about the version 2 fields, and
    missing information that one of the four rules explains (for an option it fired for, or
    through a field it reads, for an option it concerns)."""
    problems = []
    for part in ("urgent_referral", "alerts", "findings"):
        if getattr(before, part) != getattr(after, part):
            problems.append(part)
    fallback = default_aid().knowledge.fallback.spec.id
    touched = set()
    for option in OPTIONS:
        old, new = before.options[option], after.options[option]
        four = {r.rule_id for r in new.reasons} & FOUR_RULES | {n.rule_id for n in new.notes} & FOUR_RULES
        if four:
            touched.add(option)
        ignored = four | ({fallback} if four & MAY_CHANGE_A_VERDICT else set())
        old_reasons = [(r.rule_id, r.effect) for r in old.reasons if r.rule_id not in ignored]
        new_reasons = [(r.rule_id, r.effect) for r in new.reasons if r.rule_id not in ignored]
        if old_reasons != new_reasons:
            problems.append(f"{option} reasons: {old_reasons} -> {new_reasons}")
        if [n.rule_id for n in old.notes] != [n.rule_id for n in new.notes if n.rule_id not in four]:
            problems.append(f"{option} notes")
        if old.verdict != new.verdict and not four & MAY_CHANGE_A_VERDICT:
            problems.append(f"{option}: {old.verdict} -> {new.verdict}")

    knowledge = default_aid().knowledge
    deps = default_aid().dependencies
    four_options = {o for r in FOUR_RULES for o in knowledge.by_id[r].spec.options}
    four_fields = {f for r in FOUR_RULES for f in deps.rule_fields(r)}

    def counts(field: str, option: str) -> bool:
        """An option a listed rule fired for, or could fire for through this field, may change."""
        return option not in touched and not (option in four_options and field in four_fields)

    def kept(items):
        out = [
            (m.field, [o for o in m.options if counts(m.field, o)]) for m in items if m.field not in VERSION_2_FIELDS
        ]
        return [(name, options) for name, options in out if options]

    if sorted(kept(before.missing_information)) != sorted(kept(after.missing_information)):
        problems.append(f"missing information: {kept(before.missing_information)} -> {kept(after.missing_information)}")
    if after.jurisdiction != "uk":
        problems.append("jurisdiction")
    return problems


@SETTINGS
@given(patients(red_flags=None, version_2=False))
def test_a_version_1_patient_gets_the_same_assessment_under_the_default_jurisdiction(version_1_aid, patient):
    assert version_1_differences(version_1_aid.assess(patient), aid.assess(patient)) == []


def test_the_two_thousand_stored_patients_keep_their_assessment_under_the_default_jurisdiction(version_1_aid):
    lines = (Path(__file__).parent / "data" / "random_patients_2000.jsonl").read_text().splitlines()
    changed = {}
    for number, line in enumerate(lines, start=1):
        patient = json.loads(line)
        found = version_1_differences(version_1_aid.assess(patient), aid.assess(patient))
        if found:
            changed[number] = found
    assert changed == {}


@SETTINGS
@given(patients())
def test_missing_information_lists_only_unknown_fields_in_order(patient):
    missing = aid.assess(patient).missing_information
    for item in missing:
        assert item.field not in patient and item.options and item.why
    keys = [(-len(m.options), m.field) for m in missing]
    assert keys == sorted(keys)


def largest(steps: range, allowed) -> int:
    """The largest step of `steps` whose result is allowed (0 if none is): a change is drawn within
    it, instead of drawn from all of `steps` and filtered (the allowed steps are a prefix of them)."""
    return max((step for step in steps if allowed(step)), default=0)


@SETTINGS
@given(patients(), st.data())
def test_lower_t_score_never_improves_dynamic_stabilisation(patient, data):
    assume("bone_density_t_score" in patient)
    t_score = patient["bone_density_t_score"]
    room = largest(range(1, 71), lambda tenths: round(t_score - tenths / 10, 1) >= -7)
    assume(room >= 1)
    drop_tenths = data.draw(st.integers(1, room), label="drop_tenths")
    lower = round(t_score - drop_tenths / 10, 1)
    before = verdicts(patient)["dynamic_stabilisation"]
    after = verdicts({**patient, "bone_density_t_score": lower})["dynamic_stabilisation"]
    assert no_better(after, before)


@SETTINGS
@given(patients(), st.data())
def test_higher_slip_grade_never_improves_dynamic_stabilisation(patient, data):
    assume(1 <= patient["slip_grade"] <= 4)
    raise_by = data.draw(st.integers(1, 5 - patient["slip_grade"]), label="raise_by")
    before = verdicts(patient)["dynamic_stabilisation"]
    after = verdicts({**patient, "slip_grade": patient["slip_grade"] + raise_by})["dynamic_stabilisation"]
    assert no_better(after, before)


@SETTINGS
@given(patients(), st.data())
def test_larger_cobb_angle_never_improves_dynamic_stabilisation(patient, data):
    assume("scoliosis_cobb_deg" in patient)
    cobb = patient["scoliosis_cobb_deg"]
    room = largest(range(1, 601), lambda tenths: round(cobb + tenths / 10, 1) <= 120)
    assume(room >= 1)
    raise_tenths = data.draw(st.integers(1, room), label="raise_tenths")
    larger = round(cobb + raise_tenths / 10, 1)
    before = verdicts(patient)["dynamic_stabilisation"]
    after = verdicts({**patient, "scoliosis_cobb_deg": larger})["dynamic_stabilisation"]
    assert no_better(after, before)


@SETTINGS
@given(patients(), st.data())
def test_fewer_weeks_of_conservative_care_never_improve_surgery(patient, data):
    assume(patient["conservative_care_weeks"] >= 1)
    # drawn within the weeks of care given (drawing 1-600 and filtering threw most patients away)
    fewer = data.draw(st.integers(1, patient["conservative_care_weeks"]), label="fewer")
    before = verdicts(patient)
    after = verdicts({**patient, "conservative_care_weeks": patient["conservative_care_weeks"] - fewer})
    for option in SURGICAL:
        assert no_better(after[option], before[option]), option
