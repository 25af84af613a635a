"""Inline SVG charts for the governance reports' HTML pages: no script, no network, no font files.

Every chart is an `<svg role="img">` with a `<title>` saying what it shows, and writes each number
as text beside its mark (colour is never the only carrier). All text is escaped.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape

VERDICT_COLOURS = {
    "worth_discussing": "#1b5e20",
    "discuss_with_caution": "#8a4b00",
    "not_advised": "#b71c1c",
    "not_applicable": "#616161",
}
_OLD, _NEW = "#90a4ae", "#0d47a1"


def heatmap(matrix: Mapping[str, Mapping[str, int]], labels: Mapping[str, str], title: str) -> str:
    """A transition matrix: rows are the old verdicts, columns the new, each cell its count; cells off
    the diagonal (patients who move) are shaded by count, the diagonal in grey."""
    keys = list(matrix)
    wide, high, left, top = 100, 48, 128, 64  # two matrices side by side on a 72rem page
    width, height = left + wide * len(keys) + 8, top + high * len(keys) + 8
    peak = max((matrix[a][b] for a in keys for b in keys if a != b), default=0)
    parts = [_open(width, height, title)]
    parts.append(_text(left + wide * len(keys) / 2, 14, "after (new rules)", anchor="middle", bold=True))
    parts.append(_text(8, top - 8, "before (old rules)", bold=True))
    for j, key in enumerate(keys):
        parts.append(_text(left + wide * j + wide / 2, top - 26, labels.get(key, key), anchor="middle", size=11))
    for i, row in enumerate(keys):
        parts.append(_text(left - 6, top + high * i + high / 2 + 4, labels.get(row, row), anchor="end", size=11))
        for j, col in enumerate(keys):
            count = matrix[row][col]
            x, y = left + wide * j, top + high * i
            if row == col:
                fill, ink = "#eceff1", "#263238"
            elif count:
                share = math.log1p(count) / math.log1p(peak)
                fill = _blend("#fff3e0", "#bf360c", share)
                ink = "#ffffff" if share > 0.55 else "#212121"
            else:
                fill, ink = "#ffffff", "#757575"
            parts.append(
                f'<rect x="{x}" y="{y}" width="{wide - 2}" height="{high - 2}" fill="{fill}" stroke="#b0bec5"/>'
            )
            parts.append(_text(x + wide / 2, y + high / 2 + 5, f"{count:,}", anchor="middle", ink=ink, bold=row != col))
    parts.append("</svg>")
    return "".join(parts)


def stacked_bars(
    rows: Sequence[tuple[str, Mapping[str, int]]], segments: Sequence[str], labels: Mapping[str, str], title: str
) -> str:
    """One horizontal bar per row, split into `segments` (each with its count written), and a legend."""
    left, bar, gap, span = 190, 26, 12, 520
    height = 40 + len(rows) * (bar + gap) + 30
    parts = [_open(left + span + 70, height, title)]
    for i, (name, counts) in enumerate(rows):
        y = 30 + i * (bar + gap)
        total = sum(counts.get(s, 0) for s in segments)
        parts.append(_text(left - 8, y + bar / 2 + 4, name, anchor="end", size=12))
        x = float(left)
        for segment in segments:
            count = counts.get(segment, 0)
            if not count:
                continue
            w = span * count / total
            colour = VERDICT_COLOURS.get(segment, "#455a64")
            parts.append(
                f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar}" fill="{colour}">'
                f"<title>{escape(labels.get(segment, segment))}: {count:,}</title></rect>"
            )
            if w > 28:
                parts.append(_text(x + w / 2, y + bar / 2 + 4, f"{count:,}", anchor="middle", ink="#ffffff", size=11))
            x += w
        parts.append(_text(left + span + 6, y + bar / 2 + 4, f"n={total:,}", size=11))
    y = height - 16
    x = float(left)
    for segment in segments:
        parts.append(f'<rect x="{x:.0f}" y="{y - 10}" width="12" height="12" fill="{VERDICT_COLOURS.get(segment)}"/>')
        parts.append(_text(x + 16, y, labels.get(segment, segment), size=11))
        x += 22 + 7 * len(labels.get(segment, segment))
    parts.append("</svg>")
    return "".join(parts)


def paired_bars(rows: Sequence[tuple[str, int, int]], title: str) -> str:
    """Old and new count per row (rule firings), each bar with its number."""
    left, bar, span = 300, 12, 400
    height = 40 + len(rows) * (2 * bar + 12) + 10
    peak = max((max(a, b) for _, a, b in rows), default=0) or 1
    parts = [_open(left + span + 80, height, title)]
    parts.append(f'<rect x="{left}" y="8" width="12" height="12" fill="{_OLD}"/>')
    parts.append(_text(left + 16, 18, "old rules", size=11))
    parts.append(f'<rect x="{left + 100}" y="8" width="12" height="12" fill="{_NEW}"/>')
    parts.append(_text(left + 116, 18, "new rules", size=11))
    for i, (name, old, new) in enumerate(rows):
        y = 32 + i * (2 * bar + 12)
        parts.append(_text(left - 8, y + bar + 4, name, anchor="end", size=11))
        for k, (count, colour) in enumerate(((old, _OLD), (new, _NEW))):
            w = max(1.0, span * count / peak) if count else 0
            parts.append(f'<rect x="{left}" y="{y + k * bar}" width="{w:.1f}" height="{bar - 1}" fill="{colour}"/>')
            parts.append(_text(left + w + 4, y + k * bar + bar - 2, f"{count:,}", size=10))
    parts.append("</svg>")
    return "".join(parts)


def _open(width: float, height: float, title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="sans-serif"><title>{escape(title)}</title>'
    )


def _text(
    x: float, y: float, text: str, anchor: str = "start", ink: str = "#212121", size: int = 12, bold: bool = False
) -> str:
    weight = ' font-weight="bold"' if bold else ""
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" fill="{ink}" font-size="{size}"{weight}>'
        f"{escape(text)}</text>"
    )


def _blend(low: str, high: str, share: float) -> str:
    a = [int(low[i : i + 2], 16) for i in (1, 3, 5)]
    b = [int(high[i : i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(x + (y - x) * share):02x}" for x, y in zip(a, b, strict=True))
