"""Teaching: the case library, scoring, and the reasoning trace."""

import textwrap

import pytest

from decision_aid import KnowledgeError, default_aid
from decision_aid.engine.verdicts import aggregate
from decision_aid.knowledge.labels import describe_condition
from decision_aid.models import OPTIONS, VERDICTS, parse_factors
from decision_aid.samples import random_patients
from decision_aid.views import teaching

# Verdicts the knowledge base cannot give under the default jurisdiction ('uk'), whatever the
# factors: conservative care has an "always" supports rule and no opposes rule; disc replacement's
# one supporting rule needs back pain, and under UK guidance back pain opposes it
# (clinical-reference.md, sections 4 and 10). Under 'us' disc replacement can be discussed.
UNREACHABLE = {
    ("conservative_care", "not_advised"),
    ("disc_replacement", "worth_discussing"),
    ("disc_replacement", "discuss_with_caution"),
}


@pytest.fixture(scope="module")
def cases():
    return teaching.load_cases()


def reasoning_of(patient):
    """The reasoning as the Teaching page gets it: from the explained assessment and the knowledge."""
    aid = default_aid()
    return teaching.reasoning(aid.explain(patient), aid.knowledge)


@pytest.fixture(scope="module")
def engine_verdicts(cases):
    aid = default_aid()
    return {c.id: {o: r.verdict for o, r in aid.assess(c.patient, c.jurisdiction).options.items()} for c in cases}


def test_the_library_has_at_least_30_cases_with_unique_ids(cases):
    assert len(cases) >= 30
    assert len({c.id for c in cases}) == len(cases)


def test_every_case_has_a_history_valid_factors_and_teaching_points(cases):
    knowledge = default_aid().knowledge
    for case in cases:
        assert case.spec.history.strip() and case.title.strip()
        assert case.patient == parse_factors(case.spec.factors)
        assert case.spec.teaching_points
        for point in case.spec.teaching_points:
            assert all(r in knowledge.by_id for r in point.rules), case.id
            assert all(c in knowledge.citations for c in point.evidence), case.id


def test_recorded_verdicts_match_the_engine_and_cited_rules_take_part(cases):
    # When a rule change breaks this, re-read the named cases' teaching points before updating them.
    assert teaching.consistency_problems(cases, default_aid()) == []


def test_the_library_covers_each_options_verdicts(engine_verdicts):
    seen = {(o, v) for verdicts in engine_verdicts.values() for o, v in verdicts.items()}
    missing = {(o, v) for o in OPTIONS for v in VERDICTS} - seen - UNREACHABLE
    assert not missing


def test_cases_may_name_the_jurisdiction_they_are_assessed_under(cases, engine_verdicts):
    by_id = {c.id: c for c in cases}
    assert by_id["in-label-disc-replacement-us"].jurisdiction == "us"
    assert by_id["in-label-disc-replacement-uk"].jurisdiction == "uk"  # the default
    assert engine_verdicts["in-label-disc-replacement-us"]["disc_replacement"] == "worth_discussing"
    assert engine_verdicts["in-label-disc-replacement-uk"]["disc_replacement"] == "not_advised"
    assert {c.jurisdiction for c in cases} == {"uk", "us"}


def test_a_case_with_a_jurisdiction_that_is_not_uk_or_us_is_named(tmp_path):
    write(tmp_path, "cases:\n" + case_text(changes={"    title: A case": "    title: A case\n    jurisdiction: fr"}))
    assert [p.message.split(":")[0] for p in problems_of(tmp_path)] == ["jurisdiction"]


def test_the_unreachable_verdicts_are_really_unreachable():
    aid = default_aid()
    for patient in random_patients(1500, seed=30):
        verdicts = aid.verdicts(parse_factors(patient).known_values())
        assert not {(o, v) for o, v in verdicts.items()} & UNREACHABLE


def test_every_red_flag_has_a_case_and_cases_teach_boundaries_and_unknowns(cases):
    aid = default_aid()
    flags = {f for c in cases for f in aid.explain(c.patient).result.red_flags}
    assert flags == {c.spec.id for c in aid.knowledge.red_flags}
    topics = [t for c in cases for t in c.spec.topics]
    assert topics.count("boundaries") >= 5
    assert topics.count("unknowns") >= 5


def write(tmp_path, text: str, name: str = "bad.yaml"):
    (tmp_path / name).write_text(textwrap.dedent(text), encoding="utf-8")


GOOD = """\
  - id: {id}
    title: A case
    history: A history.
    factors: {{age: 50, back_pain: true, leg_pain: true, symptom_duration_weeks: 20, levels: 1, slip_grade: 0}}
    expected: {{conservative_care: worth_discussing, decompression_alone: not_advised,
      dynamic_stabilisation: not_advised, fusion: not_advised, revision_surgery: not_applicable,
      disc_replacement: not_advised}}
    teaching_points:
      - text: A point.
        rules: [{rule}]
        evidence: [{cite}]
    reviewed: 2026-11-22
"""


def case_text(id="a-case", rule="conservative.always-offered", cite="nice-ng59", changes=None) -> str:
    text = GOOD.format(id=id, rule=rule, cite=cite)
    for old, new in (changes or {}).items():
        text = text.replace(old, new)
    return text


def problems_of(tmp_path) -> list:
    with pytest.raises(KnowledgeError) as error:
        teaching.load_cases(tmp_path)
    return error.value.problems


def test_a_valid_file_loads(tmp_path):
    write(tmp_path, "cases:\n" + case_text())
    (case,) = teaching.load_cases(tmp_path)
    assert case.id == "a-case" and case.file == "teaching_cases/bad.yaml"


def test_invalid_factors_name_the_file_case_and_field(tmp_path):
    too_much = {"symptom_duration_weeks: 20": "symptom_duration_weeks: 20, conservative_care_weeks: 30"}
    write(tmp_path, "cases:\n" + case_text(id="too-much-care", changes=too_much))
    (problem,) = problems_of(tmp_path)
    assert (problem.file, problem.rule_id) == ("teaching_cases/bad.yaml", "too-much-care")
    assert "factors.conservative_care_weeks" in problem.message


def test_unknown_rule_and_citation_ids_are_named(tmp_path):
    write(tmp_path, "cases:\n" + case_text(rule="fusion.no-such-rule", cite="nobody2020"))
    messages = [p.message for p in problems_of(tmp_path)]
    assert any("fusion.no-such-rule" in m for m in messages)
    assert any("nobody2020" in m for m in messages)


def test_duplicate_ids_missing_verdicts_and_bad_shapes_are_named(tmp_path):
    write(tmp_path, "cases:\n" + case_text() + case_text(), "one.yaml")
    write(tmp_path, "cases:\n" + case_text(id="short", changes={"disc_replacement: not_advised": ""}), "two.yaml")
    write(tmp_path, "not a list\n", "three.yaml")
    problems = problems_of(tmp_path)
    assert any(p.rule_id == "a-case" and "duplicate" in p.message for p in problems)
    assert any(p.rule_id == "short" and "disc_replacement" in p.message for p in problems)
    assert any(p.file == "teaching_cases/three.yaml" and "cases:" in p.message for p in problems)


def test_an_empty_directory_is_a_problem(tmp_path):
    assert problems_of(tmp_path)


def test_scoring_counts_each_option_right_or_wrong():
    correct = dict(
        zip(
            OPTIONS,
            ["worth_discussing", "discuss_with_caution", "not_advised", "not_advised", "not_applicable", "not_advised"],
            strict=True,
        )
    )
    assert teaching.score(correct, correct).right == 6
    answers = {**correct, "fusion": "discuss_with_caution", "revision_surgery": "not_advised"}
    result = teaching.score(correct, answers)
    assert (result.right, result.total) == (4, 6)
    assert [s.option for s in result.options if not s.right] == ["fusion", "revision_surgery"]
    unanswered = teaching.score(correct, {"conservative_care": "worth_discussing"})
    assert unanswered.right == 1 and unanswered.options[1].answer is None


def test_score_case_uses_the_engine_not_the_file(cases):
    case = next(c for c in cases if not default_aid().assess(c.patient).urgent_referral)
    assessment = default_aid().assess(case.patient)
    engine = {o: r.verdict for o, r in assessment.options.items()}
    stale = dict.fromkeys(OPTIONS, "not_advised")  # what an out-of-date case file might record
    assert teaching.score_case(assessment, engine, teaching.ELECTIVE).right == 7  # the triage question, then six
    assert teaching.score_case(assessment, engine, teaching.ELECTIVE).total == 7
    right = sum(v == "not_advised" for v in engine.values())
    assert teaching.score_case(assessment, stale, teaching.ELECTIVE).right == 1 + right


def test_every_case_asks_urgent_or_elective_first_and_a_red_flag_case_scores_only_that(cases):
    aid = default_aid()
    urgent = [c for c in cases if aid.assess(c.patient).urgent_referral]
    assert {c.id for c in urgent} >= {"red-flag-cauda-equina", "red-flag-infection"}
    for case in urgent:
        assessment = aid.assess(case.patient)
        suspended = {o: r.verdict for o, r in assessment.options.items()}  # all "not applicable"
        right = teaching.score_case(assessment, suspended, teaching.URGENT)
        assert (right.right, right.total, right.options) == (1, 1, ())
        # every option marked "not applicable" but the red flag missed: nothing right
        wrong = teaching.score_case(assessment, suspended, teaching.ELECTIVE)
        assert (wrong.right, wrong.total) == (0, 1)
        assert teaching.score_case(assessment, {}, None).right == 0  # unanswered is wrong
    elective = aid.assess(next(c for c in cases if c not in urgent).patient)
    verdicts = {o: r.verdict for o, r in elective.options.items()}
    missed = teaching.score_case(elective, verdicts, teaching.URGENT)  # an urgent referral where none is needed
    assert (missed.right, missed.total) == (6, 7) and not missed.triage.right
    assert teaching.TRIAGE_WORDS == {"urgent": "urgent referral", "elective": "elective discussion"}


def test_reasoning_steps_follow_the_engine(cases):
    aid = default_aid()
    for case in cases:
        explained = aid.explain(case.patient)
        steps = teaching.reasoning(explained, aid.knowledge)
        assert steps.fallback_id == aid.knowledge.fallback.spec.id
        assert {f.field for f in steps.facts} == set(explained.facts)
        assert {f.field for f in steps.unknown} == {n for n, v in case.patient.model_dump().items() if v is None}
        assert [(f.id, f.state) for f in steps.findings] == list(explained.result.findings.items())
        assert [r.id for r in steps.rules] == list(explained.result.fired)
        assert [f.id for f in steps.red_flags] == list(explained.result.red_flags)
        for step in steps.rules:
            assert step.condition == describe_condition(aid.knowledge.by_id[step.id].expr)
        for step in steps.aggregation:
            option = explained.assessment.options[step.option]
            assert step.verdict == option.verdict
            assert step.fallback == any(r.rule_id == steps.fallback_id for r in option.reasons)
            if not explained.result.urgent:
                assert aggregate(e for _, e in step.effects) == step.verdict
                assert step.applied in teaching.AGGREGATION_WORDS.values()


def test_a_red_flag_case_stops_before_the_elective_rules(cases):
    case = next(c for c in cases if c.id == "red-flag-cauda-equina")
    steps = reasoning_of(case.patient)
    assert [f.id for f in steps.red_flags] == ["red-flag.cauda-equina"]
    assert not steps.findings and not steps.rules
    for step in steps.aggregation:
        assert step.verdict == "not_applicable"
        assert step.effects == (("red-flag.cauda-equina", "excludes"),)
        assert step.applied == teaching.AGGREGATION_WORDS["urgent"]


def test_aggregation_names_the_line_that_decided(cases):
    steps = reasoning_of(next(c for c in cases if c.id == "stenosis-mild").patient)
    applied = {s.option: s.applied for s in steps.aggregation}
    words = teaching.AGGREGATION_WORDS
    assert applied["conservative_care"] == words["worth_discussing"]
    assert applied["decompression_alone"] == words["discuss_with_caution"]
    assert applied["dynamic_stabilisation"] == words["nothing"]
    assert applied["fusion"] == words["opposes"]
    assert applied["revision_surgery"] == words["not_applicable"]


def test_a_finding_is_explained_by_the_branch_of_its_condition_that_holds(cases):
    steps = reasoning_of(next(c for c in cases if c.id == "back-pain-disc-degeneration").patient)
    because = {f.id: f.because for f in steps.findings}
    # no slip and no films: instability counts as absent (the one convention), not "translation under 3"
    assert because["dynamic_instability"] == (
        "slip grade is 0 (no slip) and translation (mm) is not known and angulation (°) is not known"
    )
    assert because["axial_back_pain_only"] == "back pain is yes and leg pain is no"
