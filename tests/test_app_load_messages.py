"""Loading a bad patient file on the Consultation page says every problem at once, in the form's words
(labels, units, grades in Roman numerals), range and cross-field problems together; the CLI and the
JSON contract keep the contract's wording."""

from __future__ import annotations

import json

import pytest

from decision_aid.cli import main
from decision_aid.errors import InputError
from decision_aid.views.consultation import RECORD_KIND, load_record, load_record_in_form_words
from tests.test_app_hostile import messages, start, upload

VALID = {
    "age": 60,
    "back_pain": True,
    "leg_pain": True,
    "symptom_duration_weeks": 10,
    "conservative_care_weeks": 4,
    "levels": 1,
    "slip_grade": 0,
}
# One value out of range and two cross-field problems: the contract reports the range first, the rest
# only once it is fixed; the page reports all three.
ROUNDS = {**VALID, "age": 150, "conservative_care_weeks": 20, "slip_type": "degenerative"}


def load_message(content: bytes, name: str = "bad.json") -> str:
    at = start()
    upload(at, name, content)
    ((kind, message),) = messages(at)
    assert kind == "error" and message.startswith(f"Could not load {name}: ") and message.endswith("unchanged.")
    return message


def test_the_contract_reports_in_rounds():
    with pytest.raises(InputError) as error:
        load_record(json.dumps(ROUNDS))
    assert [p.field for p in error.value.problems] == ["age"]  # why the page reads the file itself


def test_range_and_cross_field_problems_come_together_in_the_forms_words():
    message = load_message(json.dumps(ROUNDS).encode())
    assert "Age (years) (“age”): Allowed: 18 to 110 years; 150 years is outside this range." in message
    assert "(“conservative_care_weeks”): Cannot be more than the symptom duration (10 weeks)." in message
    assert "(“slip_type”): Degenerative needs a slip of grade I or more" in message
    assert "less than or equal" not in message and "Input should" not in message  # no contract code words


def test_a_grade_is_written_as_on_the_form():
    message = load_message(json.dumps({**VALID, "slip_grade": 7, "asa_grade": 0}).encode())
    assert "(“slip_grade”): Allowed: 0 (no slip), I, II, III, IV or V; 7 is not one of these." in message
    assert "(“asa_grade”): Allowed: " in message  # two problems of range at once too


def test_wrong_types_and_missing_answers_are_named_with_what_the_form_allows():
    message = load_message(
        json.dumps(
            {"age": "sixty", "back_pain": "yes", "activity_level": "extreme", "cauda_equina_syndrome": None}
        ).encode()
    )
    assert 'Age (years) (“age”): Allowed: 18 to 110 years; the file gives "sixty".' in message
    assert '(“back_pain”): Allowed: yes or no (true or false in the file); the file gives "yes".' in message
    assert '(“activity_level”): Allowed: low, moderate or high; the file gives "extreme".' in message
    assert "Required: the file does not give it." in message
    assert "And " in message and "more." in message  # a few named, the rest counted


def test_a_saved_consultation_is_read_the_same_way():
    record = {"kind": RECORD_KIND, "jurisdiction": "uk", "patient": ROUNDS, "assessment": {}}
    with pytest.raises(InputError) as error:
        load_record_in_form_words(json.dumps(record))
    assert [p.field for p in error.value.problems] == ["age", "conservative_care_weeks", "slip_type"]


def test_a_name_that_is_no_field_and_a_broken_file_keep_their_own_words():
    with pytest.raises(InputError) as error:
        load_record_in_form_words(json.dumps({**VALID, "smokes": True, "age": 9}))
    assert [(p.field, p.message[:40]) for p in error.value.problems][0] == (
        "smokes",
        "unknown field; did you mean 'smoker'?",
    )
    assert error.value.problems[1].message.startswith("Allowed: 18 to 110 years")
    with pytest.raises(InputError) as error:
        load_record_in_form_words(b"{not json")
    assert error.value.problems[0].message.startswith("not valid JSON")


def test_the_cli_keeps_the_contracts_wording(tmp_path, capsys):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(ROUNDS))
    assert main(["assess", str(path)]) == 2
    err = capsys.readouterr().err
    assert "age" in err and "less than or equal to 110" in err and "Allowed: 18 to 110 years" not in err
