"""A FHIR bundle file read by `decision-aid assess --fhir` may be larger than one patient file
(up to MAX_FILE_BUNDLE_BYTES); the page's upload and a bundle given as text keep the 1 MB limit."""

from __future__ import annotations

import json

import pytest

from decision_aid.cli import main
from decision_aid.errors import InputError
from decision_aid.json_text import MAX_INPUT_BYTES
from decision_aid.records.fhir_import import MAX_FILE_BUNDLE_BYTES, import_bundle
from tests.fhir_support import load

AS_OF = ["--as-of", "2026-12-01"]


def _big_bundle(size: int) -> bytes:
    data = load("red_flag.json")
    data["entry"][0]["resource"]["text"] = {
        "status": "generated",
        "div": '<div xmlns="http://www.w3.org/1999/xhtml">' + "x" * size + "</div>",
    }
    return json.dumps(data).encode()


def test_a_bundle_file_over_1_mb_is_read_from_the_command_line(tmp_path, capsys):
    path = tmp_path / "big.json"
    path.write_bytes(_big_bundle(MAX_INPUT_BYTES + 1000))
    assert main(["assess", "--fhir", str(path), *AS_OF]) == 2  # answers still needed, not refused
    captured = capsys.readouterr()
    assert "too large" not in captured.err and "Red flags coded in the record" in captured.out


def test_a_bundle_file_over_the_file_limit_is_refused(tmp_path, capsys):
    path = tmp_path / "huge.json"
    path.write_bytes(b" " * (MAX_FILE_BUNDLE_BYTES + 1))
    assert main(["assess", "--fhir", str(path), *AS_OF]) == 2
    assert "too large" in capsys.readouterr().err


def test_a_bundle_given_as_text_keeps_the_1_mb_limit():
    with pytest.raises(InputError, match="too large"):
        import_bundle(_big_bundle(MAX_INPUT_BYTES + 1000))
