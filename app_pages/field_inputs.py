"""One input widget per contract field, from its type and range; "not known" is a real choice."""

from __future__ import annotations

from typing import Any

import streamlit as st

from decision_aid.knowledge.fields import fields
from decision_aid.knowledge.labels import field_label, input_format, value_text


def field_input(name: str, value: Any, key: str) -> Any:
    """A widget for one field, starting at `value`; returns the chosen value (None = not known)."""
    spec = fields()[name]
    label = field_label(name)
    if spec.kind in ("string", "boolean"):
        choices = [*spec.values, *([None] if spec.nullable else [])]
        index = choices.index(value) if value in choices else 0
        return st.selectbox(label, choices, index=index, key=key, format_func=lambda v: value_text(name, v))
    integer = spec.kind == "integer"
    cast = int if integer else float
    return st.number_input(
        label + (" (leave empty if not known)" if spec.nullable else ""),
        min_value=cast(spec.minimum),
        max_value=cast(spec.maximum),
        value=None if value is None else cast(value),
        step=cast(spec.step),
        format=None if integer else input_format(name, value),
        key=key,
        placeholder="not known",
    )
