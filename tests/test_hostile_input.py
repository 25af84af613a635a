"""Hostile input reaches only the input error: a red flag never vanishes, no value floods a message.

Regression tests for issue 7 (items 1, 7, 8 and 11): repeated keys, huge and deep values,
oversized input, odd numbers and encodings, in the Python API, the CLI and `rules check`.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from decision_aid import InputError, assess
from decision_aid.json_text import MAX_INPUT_BYTES
from decision_aid.models import input_schema, parse_factors
from tests.cli_support import run_cli
from tests.conftest import variant

ROOT = Path(__file__).resolve().parent.parent
# The shared base patient cut down to what the contract requires (tests/conftest.py), as the inside
# of a JSON object's text, so that a test can add raw (even invalid) JSON after it.
MINIMAL = variant("minimal")
BASE = json.dumps(MINIMAL)[1:-1]
AGE = f'"age": {MINIMAL["age"]}'


def problems(data) -> dict[str, str]:
    with pytest.raises(InputError) as caught:
        parse_factors(data)
    return {p.field: p.message for p in caught.value.problems}


@pytest.fixture
def cli(capfdbinary):
    """`decision-aid ARGS`, run in this process (tests/cli_support.py)."""
    return lambda *args, stdin=b"": run_cli(capfdbinary, *args, stdin=stdin)


# ---- 1. a repeated key is invalid input, never "the last one wins" ----------------------


def test_a_repeated_red_flag_is_refused_naming_the_key():
    text = "{" + BASE + ', "cauda_equina_syndrome": true, "cauda_equina_syndrome": false}'
    assert "repeated key" in problems(text)["cauda_equina_syndrome"]
    assert "repeated key" in problems(text.encode())["cauda_equina_syndrome"]


def test_the_cli_refuses_a_repeated_key_with_exit_2(cli):
    text = "{" + BASE + ', "cauda_equina_syndrome": true, "cauda_equina_syndrome": false}'
    done = cli("assess", "-", stdin=text.encode())
    assert done.returncode == 2
    assert "cauda_equina_syndrome: repeated key" in done.stderr


def test_a_repeated_key_inside_a_nested_value_is_refused_too():
    text = "{" + BASE + ', "stenosis": {"a": 1, "a": 2}}'
    assert "repeated key" in problems(text)["a"]


@pytest.mark.parametrize("relative", ["options/fusion.yaml", "teaching_cases/stenosis.yaml"])
def test_rules_check_refuses_a_repeated_yaml_key_naming_file_and_key(kb, relative, cli):
    path = kb / relative
    text = path.read_text(encoding="utf-8")
    # the first `id:` line of the file gains a twin right under it: YAML would keep the second
    lines = text.splitlines()
    index = next(i for i, line in enumerate(lines) if line.lstrip().startswith("- id:"))
    indent = lines[index].index("-") + 2
    lines.insert(index + 1, " " * indent + "id: a-second-id")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    done = cli("rules", "check", "--dir", str(kb))
    assert done.returncode == 2, done.stdout + done.stderr
    assert relative in done.stderr and "repeated key 'id'" in done.stderr


# ---- 7. bad values raise the input error, whatever they are --------------------------------


def _deep(depth: int):
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    "extra, field",
    [
        ({"odi": 10**5000}, "odi"),
        ({"odi": -(10**200)}, "odi"),
        ({"odi": _deep(100_000)}, "odi"),
        ({"not_a_field": _deep(100_000)}, "not_a_field"),
        ({"bmi": float("inf")}, "bmi"),
        ({"bmi": float("nan")}, "bmi"),
    ],
    ids=["huge-int", "huge-negative", "deep-list", "deep-unknown", "inf", "nan"],
)
def test_a_hostile_python_value_raises_only_the_input_error(extra, field):
    patient = json.loads("{" + BASE + "}") | extra
    found = problems(patient)
    assert field in found and len(found[field]) < 300


@pytest.mark.parametrize(
    "text, field",
    [
        ("{" + BASE + ', "odi": ' + "7" * 5000 + "}", "odi"),
        ("{" + BASE + ', "bmi": ' + "[" * 100_000 + "]" * 100_000 + "}", "(input)"),
        ("[" * 500_000 + "]" * 500_000, "(input)"),
    ],
    ids=["5000-digit-int", "deep-value", "deep-document"],
)
def test_hostile_json_text_raises_only_the_input_error(text, field):
    found = problems(text)
    assert field in found and len(found[field]) < 300


# ---- 8. a size limit, and messages that quote only a short form of a value ------------------


def test_input_over_the_limit_is_refused_before_parsing():
    text = "{" + BASE + ', "stenosis": "' + "x" * MAX_INPUT_BYTES + '"}'
    message = problems(text)["(input)"]
    assert "too large" in message and f"{MAX_INPUT_BYTES:,}" in message


def test_a_long_rejected_value_is_quoted_short():
    text = "{" + BASE + ', "stenosis": "' + "x" * 200_000 + '"}'
    message = problems(text)["stenosis"]
    assert len(message) < 300 and "xxxx" in message


def test_a_long_unknown_field_name_is_quoted_short():
    found = problems("{" + BASE + ', "' + "y" * 5000 + '": 1}')
    (field,) = found
    assert len(field) <= 40 and found[field].startswith("unknown field")


def test_the_cli_message_for_a_long_value_is_short(cli):
    text = "{" + BASE + ', "stenosis": "' + "x" * 500_000 + '"}'
    done = cli("assess", "-", stdin=text.encode())
    assert done.returncode == 2 and len(done.stderr.encode()) < 500


# ---- 11. messages that say what is wrong -------------------------------------------------------


def test_a_huge_integer_names_its_field():
    assert "out of range" in problems("{" + BASE + ', "odi": ' + "7" * 5000 + "}")["odi"]


def test_a_number_beyond_a_float_is_quoted_as_written():
    message = problems("{" + BASE + ', "bmi": 1e400}')["bmi"]
    assert "1e400" in message and "Infinity" not in message and "from 12 to 80" in message


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_json_constants_are_refused_naming_the_field(constant):
    assert "bmi" in problems("{" + BASE + f', "bmi": {constant}}}')


def test_an_empty_key_is_shown_as_empty_quotes():
    found = problems("{" + BASE + ', "": 1}')
    assert found == {'""': "unknown field"}


def test_a_whole_number_float_is_an_integer_everywhere():
    assert assess("{" + BASE.replace(AGE, '"age": 63.0') + "}").options
    patient = parse_factors("{" + BASE.replace(AGE, '"age": 63.0') + "}")
    assert patient.age == 63 and type(patient.age) is int
    assert parse_factors(json.loads("{" + BASE + "}") | {"odi": 40.0, "levels": 2.0}).odi == 40
    assert input_schema()["properties"]["age"]["type"] == "integer"  # JSON Schema: 63.0 is an integer


@pytest.mark.parametrize("value", ["63.5", '"63"', "true"])
def test_other_non_integers_stay_invalid(value):
    assert "age" in problems("{" + BASE.replace(AGE, f'"age": {value}') + "}")


def test_utf8_only_with_a_byte_order_mark_allowed():
    text = "{" + BASE + "}"
    assert parse_factors(b"\xef\xbb\xbf" + text.encode()).age == MINIMAL["age"]
    assert "not UTF-8" in problems(text.encode("utf-16"))["(input)"]
    assert "not UTF-8" in problems(text.encode("utf-32"))["(input)"]


def test_a_json_error_gives_a_column_on_one_line_and_a_line_on_several():
    assert "column" in problems('{"age": 6')["(input)"] and "line" not in problems('{"age": 6')["(input)"]
    assert "line 3" in problems('{\n"age": 60,\n oops}')["(input)"]


# ---- fuzz: an assessment or the input error, nothing else, and no interpreter crash ----------


@pytest.mark.slow  # 400 generated inputs in a subprocess
def test_fuzzed_json_like_values_give_an_assessment_or_the_input_error():
    done = subprocess.run(
        [sys.executable, "-m", "tests.hostile_fuzz", "400"], capture_output=True, text=True, cwd=ROOT, timeout=600
    )
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    assert "fuzz: ok" in done.stdout
