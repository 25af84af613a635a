"""The Explore chart: every option's verdict across one or two factors (Altair).

The verdict is an ordered category shown by colour, by shape and in words (legend
and tooltip), never by colour alone.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from app_pages.ui import VERDICT_STYLE
from decision_aid.engine.explore import Sweep, is_numeric
from decision_aid.knowledge.labels import OPTION_NAMES, VERDICT_WORDS, field_label, value_text
from decision_aid.models import OPTIONS, VERDICTS

SHAPES = {
    "worth_discussing": "circle",
    "discuss_with_caution": "triangle-up",
    "not_advised": "cross",
    "not_applicable": "square",
}
_WORDS = [VERDICT_WORDS[v] for v in VERDICTS]
_COLOUR = alt.Scale(domain=_WORDS, range=[VERDICT_STYLE[v][0] for v in VERDICTS])
_SHAPE = alt.Scale(domain=_WORDS, range=[SHAPES[v] for v in VERDICTS])
_OPTION_ORDER = [OPTION_NAMES[o] for o in OPTIONS]


def frame(sweep: Sweep) -> pd.DataFrame:
    """The sweep's tidy table with readable columns added (for the chart, its table and the tests)."""
    df = pd.DataFrame(sweep.rows, columns=[*sweep.fields, "option", "verdict"])
    df["option name"] = df["option"].map(OPTION_NAMES)
    df["verdict in words"] = df["verdict"].map(VERDICT_WORDS)
    for name in sweep.fields:
        df[_shown(name)] = [value_text(name, v, sweep.thresholds) for v in df[name]]
    return df


def chart(sweep: Sweep) -> alt.Chart:
    df = frame(sweep)
    legend = alt.Legend(title="verdict", orient="bottom")
    marks = {
        "color": alt.Color("verdict in words:N", scale=_COLOUR, legend=legend, sort=_WORDS),
        "shape": alt.Shape("verdict in words:N", scale=_SHAPE, legend=legend, sort=_WORDS),
        "tooltip": [
            alt.Tooltip("option name:N", title="option"),
            *(alt.Tooltip(f"{_shown(n)}:N", title=field_label(n)) for n in sweep.fields),
            alt.Tooltip("verdict in words:N", title="verdict"),
        ],
    }
    if len(sweep.fields) == 1:
        (name,) = sweep.fields
        points = (
            alt.Chart(df)
            .mark_point(filled=True, size=110, opacity=0.95)
            .encode(
                x=_axis(sweep, 0),
                y=alt.Y("option name:N", sort=_OPTION_ORDER, title=None, axis=alt.Axis(labelLimit=220)),
                **marks,
            )
            .properties(height=280)
        )
        if not is_numeric(name):
            return points
        marks_in_range = [t for t in sweep.thresholds[name] if df[name].min() <= t <= df[name].max()]
        if not marks_in_range:
            return points
        rules = (  # where the rules draw their lines for this factor
            alt.Chart(pd.DataFrame({name: marks_in_range, "threshold": [f"threshold {t}" for t in marks_in_range]}))
            .mark_rule(strokeDash=[4, 4], color="#9e9e9e")
            .encode(x=f"{name}:Q", tooltip=alt.Tooltip("threshold:N", title="rules compare with"))
        )
        return alt.layer(rules, points)
    return (
        alt.Chart(df)
        .mark_point(filled=True, size=60, opacity=0.95)
        .encode(x=_axis(sweep, 0), y=_axis(sweep, 1, vertical=True), **marks)
        .properties(width=220, height=180)
        .facet(facet=alt.Facet("option name:N", sort=_OPTION_ORDER, title=None), columns=3)
    )


def _axis(sweep: Sweep, i: int, vertical: bool = False) -> alt.X | alt.Y:
    name = sweep.fields[i]
    channel = alt.Y if vertical else alt.X
    if is_numeric(name):
        return channel(f"{name}:Q", title=field_label(name), scale=alt.Scale(zero=False))
    order = [value_text(name, v, sweep.thresholds) for v in sweep.values[i]]
    return channel(f"{_shown(name)}:N", sort=order, title=field_label(name))


def _shown(name: str) -> str:
    """The column holding a field's values in words ("not known", "yes", "II")."""
    return f"{name}_text"
