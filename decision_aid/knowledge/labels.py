"""Words for people: field labels with units, how each value is shown, option and verdict names,
readable conditions.

Every view (handout, clinic letter, CLI summary, patient view, the app's pages)
shows a patient's value through `show_value`, so a number is rounded the same way
everywhere. Rounding is for display only: saved records keep the exact input.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from decimal import Decimal
from functools import cache
from typing import Any

from decision_aid.knowledge import conditions as cond
from decision_aid.knowledge.fields import fields, settings
from decision_aid.knowledge.loader import load

OPTION_NAMES: dict[str, str] = {
    "conservative_care": "Conservative care",
    "decompression_alone": "Decompression alone",
    "dynamic_stabilisation": "Dynamic stabilisation",
    "fusion": "Fusion",
    "revision_surgery": "Revision surgery",
    "disc_replacement": "Disc replacement",
}

VERDICT_WORDS: dict[str, str] = {
    "worth_discussing": "worth discussing",
    "discuss_with_caution": "discuss with caution",
    "not_advised": "not advised",
    "not_applicable": "not applicable",
}


def field_label(name: str) -> str:
    """The clinician's label with its unit, from rules/fields.yaml: "translation on flexion-extension (mm)"."""
    spec = fields().get(name)
    return spec.labelled if spec else name.replace("_", " ")


def describe_condition(text_or_expr: str | cond.Expr) -> str:
    """A rule condition as readable text, e.g. "slip grade is II or more"."""
    expr = cond.parse(text_or_expr) if isinstance(text_or_expr, str) else text_or_expr
    return cond.describe(_for_reading(expr), {n: spec.condition_label or spec.label for n, spec in fields().items()})


def _for_reading(expr: cond.Expr) -> cond.Expr:
    """Values in their declared words (slip grades as Roman numerals); a threshold exactly as
    written, never in exponent form."""
    if isinstance(expr, (cond.All, cond.Any_)):
        return type(expr)(tuple(_for_reading(p) for p in expr.parts))
    words = fields()[expr.field].value_words if isinstance(expr, cond.Compare) and expr.field in fields() else {}
    if isinstance(expr, cond.Compare) and expr.value in words and not isinstance(expr.value, bool):
        return cond.Compare(expr.field, expr.op, words[expr.value])
    if isinstance(expr, cond.Compare) and _is_number(expr.value):
        return cond.Compare(expr.field, expr.op, _plain(expr.value))
    if isinstance(expr, cond.OneOf) and any(_is_number(v) for v in expr.values):
        return cond.OneOf(expr.field, tuple(_plain(v) if _is_number(v) else v for v in expr.values))
    return expr


def show_value(name: str, value: object, thresholds: Mapping[str, Iterable[Any]] | None = None) -> str:
    """A patient's value as every view shows it: "not known" for null, yes/no, grade II, "L4-L5",
    and a number rounded to its field's declared decimals (integer fields as integers).

    A number is never shown in exponent form or as "-0". Where rounding would put the
    value on the other side of a threshold the rules compare this field with (-2.46
    shown as -2.5 beside "T-score -2.5 or less"), more digits are shown, as many as
    keep it on its own side. `thresholds` maps field -> the values the rules compare
    it with (`Knowledge.thresholds` of the knowledge in use); by default, those of the
    knowledge base in rules/.
    """
    if value is None:
        return "not known"
    spec = fields().get(name)
    words = spec.value_words if spec else {}
    if _is_number(value) and float(value).is_integer() and int(value) in words:
        return words[int(value)]
    if not _is_number(value):
        return cond._show(value)
    if spec is None or spec.decimals is None:
        return _whole(value)
    if thresholds is None:
        thresholds = _rules_thresholds()
    limits = [t for t in thresholds.get(name, ()) if _is_number(t)]
    return _rounded(value, spec.decimals, limits)


def input_format(name: str, value: object, thresholds: Mapping[str, Iterable[Any]] | None = None) -> str:
    """The printf format for a number input holding `value`: as many decimals as `show_value`
    shows (-2.46 as -2.46, never -2.5), and at least one, since the form steps by 0.1."""
    if not _is_number(value):
        return "%.1f"
    _, point, decimals = show_value(name, value, thresholds).partition(".")
    return f"%.{max(1, len(decimals) if point else 0)}f"


def value_text(name: str, value: object, thresholds: Mapping[str, Iterable[Any]] | None = None) -> str:
    """The same as `show_value` (the name the app's pages use)."""
    return show_value(name, value, thresholds)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _rounded(value: float, decimals: int, thresholds: list[float]) -> str:
    """`value` to `decimals` places, or to more where fewer would cross a threshold."""
    if isinstance(value, int) and abs(value) > 2**53 or not math.isfinite(value):
        return _plain(value)  # not a value a field accepts; shown as it is
    for places in range(decimals, 18):
        text = _fixed(value, places)
        shown = float(text)
        if all(_side(shown, t) == _side(value, t) for t in thresholds):
            return text
    return _plain(value)


def _fixed(value: float, places: int) -> str:
    text = f"{value:.{places}f}"
    return text.removeprefix("-") if float(text) == 0 else text


def _side(value: float, threshold: float) -> int:
    return (value > threshold) - (value < threshold)


def _whole(value: float) -> str:
    """An integer field's value: 63, also when given as 63.0."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    return _plain(value)


def _plain(value: float) -> str:
    """A number exactly as given (the shortest text that reads back as it), in plain decimal
    form: 0.00001, never 1e-05; 0.0 for -0.0, never -0."""
    if isinstance(value, int) or not math.isfinite(value):
        return str(value)
    text = format(Decimal(repr(value)), "f")
    return text.removeprefix("-") if value == 0 else text


@cache
def _rules_thresholds() -> Mapping[str, Iterable[Any]]:
    """The thresholds of the knowledge base in rules/, loaded once for display (callers that hold
    a knowledge object pass its `thresholds` instead)."""
    return load().thresholds


def guidance(jurisdiction: str) -> str:
    """ "UK guidance" or "USA guidance": the jurisdiction in the words of rules/fields.yaml."""
    return f"{settings()['jurisdiction'].value_words.get(jurisdiction, jurisdiction)} guidance"
