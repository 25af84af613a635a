"""The `rules diff` report (decision_aid.governance.diff's dict) as Markdown for a review meeting
and as a self-contained HTML page with the transition matrices drawn as inline SVG heatmaps.

Only what the report holds is shown; every text from it is escaped in HTML and in Markdown tables.
"""

from __future__ import annotations

from html import escape
from typing import Any

from decision_aid.knowledge.labels import OPTION_NAMES, VERDICT_WORDS, field_label
from decision_aid.models import VERDICTS

from . import charts
from .page import html_page, md_cell

_JURISDICTION_WORDS = {"uk": "UK guidance", "us": "US guidance"}


def markdown(report: dict[str, Any]) -> str:
    old, new, cohort = report["old"], report["new"], report["cohort"]
    out = [
        f"# Rules diff: knowledge {old['version']} → {new['version']}",
        "",
        f"- Old rules: `{old['rules']}` (version {old['version']})",
        f"- New rules: `{new['rules']}` (version {new['version']})",
        f"- Cohort: {cohort['description']}; {cohort['rows']:,} rows, {cohort['assessed']:,} assessed",
    ]
    if cohort["invalid"]:
        out.append(f"- Invalid rows (not counted): {len(cohort['invalid'])}")
        out += [f"  - `{r['id']}`: {'; '.join(r['problems'])}" for r in cohort["invalid"]]
    if not report["changed"]:
        out += ["", "**No change**: every patient gets the same verdicts and the same rules fire as often."]
    out += ["", *_summary_md(report)]
    for jurisdiction, part in report["jurisdictions"].items():
        out += ["", f"## Under {_JURISDICTION_WORDS.get(jurisdiction, jurisdiction)} (`{jurisdiction}`)", ""]
        out.append(f"{part['changed_patients']:,} of {part['patients']:,} patients change verdict for some option.")
        for option, data in part["options"].items():
            if not data["changed"]:
                continue
            out += ["", f"### {OPTION_NAMES[option]}: {data['changed']:,} patient(s) change", ""]
            out += _matrix_md(data["matrix"])
            for t in data["transitions"]:
                out += ["", f"**{VERDICT_WORDS[t['from']]} → {VERDICT_WORDS[t['to']]}**: {t['count']:,}", ""]
                for example in t["examples"]:
                    out.append(f"- `{example['id']}`" + _values_md(example["values"]))
                    out.append(f"  - before: {_reasons_md(example['before'])}")
                    out.append(f"  - after: {_reasons_md(example['after'])}")
        unchanged = [OPTION_NAMES[o] for o, d in part["options"].items() if not d["changed"]]
        if unchanged:
            out += ["", "No verdict changes for: " + ", ".join(unchanged) + "."]
        out += ["", "#### Rules whose firing count changed", ""]
        if part["rules"]:
            out += ["| rule | label | old | new |", "|---|---|---:|---:|"]
            for r in part["rules"]:
                note = "" if r["in_old"] and r["in_new"] else (" (new rule)" if r["in_new"] else " (removed)")
                out.append(f"| `{r['id']}`{note} | {md_cell(r['label'])} | {r['old']:,} | {r['new']:,} |")
        else:
            out.append("None.")
    out += ["", "## Teaching cases whose answer changes", ""]
    if report["teaching_cases"]:
        out += [
            "| case | jurisdiction | option | recorded answer | old rules | new rules |",
            "|---|---|---|---|---|---|",
        ]
        for case in report["teaching_cases"]:
            for c in case["changes"]:
                out.append(
                    f"| `{case['id']}` ({md_cell(case['file'])}) | {case['jurisdiction']} "
                    f"| {OPTION_NAMES[c['option']]} "
                    f"| {_verdict(c['expected'])} | {_verdict(c['old'])} | {_verdict(c['new'])} |"
                )
        out += ["", "Update each case's `expected:` verdicts and re-read its teaching points."]
    else:
        out.append("None.")
    return "\n".join(out) + "\n"


def _summary_md(report: dict[str, Any]) -> list[str]:
    """Patients whose verdict changes, per option and jurisdiction, and the counts of the other sections."""
    parts = report["jurisdictions"]
    out = ["| patients whose verdict changes | " + " | ".join(f"`{j}`" for j in parts) + " |"]
    out.append("|---|" + "---:|" * len(parts))
    for option in next(iter(parts.values()))["options"] if parts else ():
        out.append(
            f"| {OPTION_NAMES[option]} | "
            + " | ".join(f"{p['options'][option]['changed']:,}" for p in parts.values())
            + " |"
        )
    out.append("| any option | " + " | ".join(f"{p['changed_patients']:,}" for p in parts.values()) + " |")
    out.append(
        "| rules whose firing count changed | " + " | ".join(f"{len(p['rules']):,}" for p in parts.values()) + " |"
    )
    out += ["", f"Teaching cases whose answer changes: {len(report['teaching_cases'])}."]
    return out


def _matrix_md(matrix: dict[str, dict[str, int]]) -> list[str]:
    head = "| before ↓ / after → | " + " | ".join(VERDICT_WORDS[v] for v in VERDICTS) + " |"
    rows = [head, "|---|" + "---:|" * len(VERDICTS)]
    for was in VERDICTS:
        rows.append(f"| {VERDICT_WORDS[was]} | " + " | ".join(f"{matrix[was][now]:,}" for now in VERDICTS) + " |")
    return rows


def _reasons_md(reasons: list[dict[str, str]]) -> str:
    return "; ".join(f"{r['effect']} `{r['rule_id']}` ({r['label']})" for r in reasons) or "none"


def _values_md(values: dict[str, str]) -> str:
    return (" — " + ", ".join(f"{field_label(k)}: {v}" for k, v in values.items())) if values else ""


def _verdict(verdict: str | None) -> str:
    return VERDICT_WORDS.get(verdict or "", "—")


def html(report: dict[str, Any]) -> str:
    old, new, cohort = report["old"], report["new"], report["cohort"]
    title = f"Rules diff: knowledge {old['version']} → {new['version']}"
    body = [
        f"<h1>{escape(title)}</h1>",
        "<ul>",
        f"<li>Old rules: <code>{escape(old['rules'])}</code> (version {escape(old['version'])})</li>",
        f"<li>New rules: <code>{escape(new['rules'])}</code> (version {escape(new['version'])})</li>",
        f"<li>Cohort: {escape(cohort['description'])}; {cohort['rows']:,} rows, {cohort['assessed']:,} assessed</li>",
        "</ul>",
    ]
    if cohort["invalid"]:
        body.append(f"<h2>Invalid rows ({len(cohort['invalid'])}, not counted)</h2><ul>")
        body += [
            f"<li><code>{escape(r['id'])}</code>: {escape('; '.join(r['problems']))}</li>" for r in cohort["invalid"]
        ]
        body.append("</ul>")
    if not report["changed"]:
        body.append("<p><strong>No change</strong>: every patient gets the same verdicts.</p>")
    for jurisdiction, part in report["jurisdictions"].items():
        words = _JURISDICTION_WORDS.get(jurisdiction, jurisdiction)
        body.append(f"<h2>Under {escape(words)}</h2>")
        body.append(f"<p>{part['changed_patients']:,} of {part['patients']:,} patients change verdict.</p>")
        body.append('<div class="charts">')
        for option, data in part["options"].items():
            name = OPTION_NAMES[option]
            chart = charts.heatmap(data["matrix"], VERDICT_WORDS, f"{name} under {words}: verdict before and after")
            body.append(f"<figure><figcaption>{escape(name)}: {data['changed']:,} change</figcaption>{chart}</figure>")
        body.append("</div>")
        for option, data in part["options"].items():
            for t in data["transitions"]:
                heading = f"{OPTION_NAMES[option]}: {VERDICT_WORDS[t['from']]} → {VERDICT_WORDS[t['to']]}"
                body.append(f"<h3>{escape(heading)} ({t['count']:,})</h3><ul>")
                for ex in t["examples"]:
                    values = ", ".join(f"{field_label(k)}: {v}" for k, v in ex["values"].items())
                    body.append(
                        f"<li><code>{escape(ex['id'])}</code> {escape(values)}<br>before: "
                        f"{_reasons_html(ex['before'])}<br>after: {_reasons_html(ex['after'])}</li>"
                    )
                body.append("</ul>")
        body.append("<h3>Rules whose firing count changed</h3>")
        if part["rules"]:
            rows = [(f"{r['id']}", r["old"], r["new"]) for r in part["rules"]]
            body.append(charts.paired_bars(rows, f"Rule firings under {words}, old and new rules"))
            body.append("<table><tr><th>rule</th><th>label</th><th>old</th><th>new</th></tr>")
            body += [
                f"<tr><td><code>{escape(r['id'])}</code></td><td>{escape(r['label'])}</td>"
                f"<td>{r['old']:,}</td><td>{r['new']:,}</td></tr>"
                for r in part["rules"]
            ]
            body.append("</table>")
        else:
            body.append("<p>None.</p>")
    body.append("<h2>Teaching cases whose answer changes</h2>")
    if report["teaching_cases"]:
        body.append(
            "<table><tr><th>case</th><th>jurisdiction</th><th>option</th><th>recorded answer</th>"
            "<th>old rules</th><th>new rules</th></tr>"
        )
        for case in report["teaching_cases"]:
            for c in case["changes"]:
                body.append(
                    f"<tr><td><code>{escape(case['id'])}</code> ({escape(case['file'])})</td>"
                    f"<td>{escape(case['jurisdiction'])}</td><td>{escape(OPTION_NAMES[c['option']])}</td>"
                    f"<td>{_verdict(c['expected'])}</td><td>{_verdict(c['old'])}</td><td>{_verdict(c['new'])}</td></tr>"
                )
        body.append("</table>")
    else:
        body.append("<p>None.</p>")
    return html_page(title, "\n".join(body))


def _reasons_html(reasons: list[dict[str, str]]) -> str:
    return "; ".join(
        f"{escape(r['effect'])} <code>{escape(r['rule_id'])}</code> ({escape(r['label'])})" for r in reasons
    )
