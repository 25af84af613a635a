"""`decision-aid assess --fhir` shows each red flag the record codes with the knowledge base's
alert (what to do now, as the CDS critical card says it), before the answers still needed, in
text and in JSON, so a coded emergency is never just one more item on a to-do list."""

from __future__ import annotations

import json

from decision_aid.cli import main
from decision_aid.engine.assessment import default_aid
from decision_aid.models import DEFAULT_JURISDICTION
from tests.fhir_support import FHIR_DATA

RED_FLAG = str(FHIR_DATA / "red_flag.json")
AS_OF = ["--as-of", "2026-12-01"]


def _alert() -> str:
    flag = next(c for c in default_aid().knowledge.red_flags if "cauda_equina_syndrome" in str(c.spec.when))
    return flag.spec.in_(DEFAULT_JURISDICTION).alert


def test_the_text_shows_the_red_flag_alert_before_the_answers_needed(capsys):
    assert main(["assess", "--fhir", RED_FLAG, *AS_OF]) == 2
    out = capsys.readouterr().out
    alert = _alert()
    assert alert in out and out.index(alert) < out.index("Answers still needed")


def test_the_json_holds_the_red_flag_alert(capsys):
    assert main(["assess", "--fhir", RED_FLAG, "--format", "json", *AS_OF]) == 2
    data = json.loads(capsys.readouterr().out)
    assert [a["alert"] for a in data["red_flag_alerts"]] == [_alert()]
    assert data["red_flag_alerts"][0]["fields"] == ["cauda_equina_syndrome"]
