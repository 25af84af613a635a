"""The `audit` report (decision_aid.governance.audit's dict per jurisdiction) as Markdown and as a
self-contained HTML page with each jurisdiction's verdict shares drawn as inline SVG stacked bars.
The statement from rules/audit.yaml comes first in both, with its references.
"""

from __future__ import annotations

from html import escape
from typing import Any

from decision_aid.knowledge.labels import OPTION_NAMES, VERDICT_WORDS
from decision_aid.models import VERDICTS

from . import charts
from .page import html_page, md_cell

_JURISDICTION_WORDS = {"uk": "UK guidance", "us": "US guidance"}


def markdown(report: dict[str, Any]) -> str:
    about = report["statement"]
    out = [f"# Appropriateness audit: {report['cohort']}", "", f"> **{about['title']}.** {about['statement']}", ">"]
    out += [f"> - {c['reference']} (`{c['id']}`)" for c in about["evidence"]]
    out += ["", f"Knowledge {report['knowledge_version']}; performed procedure from `{report['performed']}`."]
    if report.get("mapping"):
        out.append(f"Local procedure codes mapped by `{report['mapping']}`.")
    for jurisdiction, part in report["jurisdictions"].items():
        out += ["", f"## Under {_JURISDICTION_WORDS.get(jurisdiction, jurisdiction)} (`{jurisdiction}`)", ""]
        out.append(f"{part['audited']:,} of {part['rows']:,} rows audited.")
        out += ["", "| performed | patients | " + " | ".join(VERDICT_WORDS[v] for v in VERDICTS) + " |"]
        out.append("|---|---:|" + "---:|" * len(VERDICTS))
        for option, data in part["procedures"].items():
            shares = " | ".join(_share(data["verdicts"][v], data["patients"]) for v in VERDICTS)
            out.append(f"| {OPTION_NAMES[option]} | {data['patients']:,} | {shares} |")
        for option, data in part["procedures"].items():
            if data["not_advised_reasons"]:
                out += ["", f"### {OPTION_NAMES[option]}: the commonest reasons behind “not advised”", ""]
                out += ["| rule | reason | patients | example ids |", "|---|---|---:|---|"]
                for r in data["not_advised_reasons"]:
                    ids = ", ".join(f"`{i}`" for i in r["examples"])
                    out.append(f"| `{r['rule_id']}` | {md_cell(r['label'])} | {r['count']:,} | {ids} |")
        out += ["", *_unaudited_md(part)]
    return "\n".join(out) + "\n"


def _share(count: int, total: int) -> str:
    return f"{count:,} ({100 * count / total:.0f} %)" if total else "0"


def _unaudited_md(part: dict[str, Any]) -> list[str]:
    out = ["### Rows not audited", ""]
    missing, unknown, invalid = part["not_recorded"], part["unknown"], part["invalid"]
    out.append(f"- Performed procedure not recorded: {missing['count']:,}" + _ids(missing["ids"]))
    out.append(f"- Performed procedure not one of the options nor a mapped code: {unknown['count']:,}")
    for code, data in unknown["codes"].items():
        out.append(f"  - `{md_cell(code)}`: {data['count']:,}" + _ids(data["ids"]))
    out.append(f"- Invalid rows: {len(invalid):,}")
    out += [f"  - `{r['id']}`: {md_cell('; '.join(r['problems']))}" for r in invalid]
    return out


def _ids(ids: list[str], shown: int = 20) -> str:
    if not ids:
        return ""
    more = f" and {len(ids) - shown:,} more" if len(ids) > shown else ""
    return " (" + ", ".join(f"`{i}`" for i in ids[:shown]) + more + ")"


def html(report: dict[str, Any]) -> str:
    about = report["statement"]
    title = f"Appropriateness audit: {report['cohort']}"
    body = [
        f"<h1>{escape(title)}</h1>",
        f'<div class="notice"><p><strong>{escape(about["title"])}.</strong> {escape(about["statement"])}</p><ul>',
        *[f"<li>{escape(c['reference'])} (<code>{escape(c['id'])}</code>)</li>" for c in about["evidence"]],
        "</ul></div>",
        f"<p>Knowledge {escape(report['knowledge_version'])}; performed procedure from "
        f"<code>{escape(report['performed'])}</code>.</p>",
    ]
    for jurisdiction, part in report["jurisdictions"].items():
        words = _JURISDICTION_WORDS.get(jurisdiction, jurisdiction)
        body.append(f"<h2>Under {escape(words)}</h2><p>{part['audited']:,} of {part['rows']:,} rows audited.</p>")
        bars = [(OPTION_NAMES[o], d["verdicts"]) for o, d in part["procedures"].items()]
        if bars:
            chart = charts.stacked_bars(bars, VERDICTS, VERDICT_WORDS, f"Verdicts for the procedure performed, {words}")
            body.append(f"<figure><figcaption>Verdict for the procedure performed</figcaption>{chart}</figure>")
        body.append("<table><tr><th>performed</th><th>patients</th>")
        body += [f"<th>{escape(VERDICT_WORDS[v])}</th>" for v in VERDICTS]
        body.append("</tr>")
        for option, data in part["procedures"].items():
            cells = "".join(f"<td>{_share(data['verdicts'][v], data['patients'])}</td>" for v in VERDICTS)
            body.append(f"<tr><td>{escape(OPTION_NAMES[option])}</td><td>{data['patients']:,}</td>{cells}</tr>")
        body.append("</table>")
        for option, data in part["procedures"].items():
            if data["not_advised_reasons"]:
                body.append(f"<h3>{escape(OPTION_NAMES[option])}: the commonest reasons behind “not advised”</h3>")
                body.append("<table><tr><th>rule</th><th>reason</th><th>patients</th><th>example ids</th></tr>")
                for r in data["not_advised_reasons"]:
                    ids = ", ".join(f"<code>{escape(i)}</code>" for i in r["examples"])
                    body.append(
                        f"<tr><td><code>{escape(r['rule_id'])}</code></td><td>{escape(r['label'])}</td>"
                        f"<td>{r['count']:,}</td><td>{ids}</td></tr>"
                    )
                body.append("</table>")
        body.append("<h3>Rows not audited</h3><ul>")
        body += [f"<li>{escape(line.lstrip('- ').replace('`', ''))}</li>" for line in _unaudited_md(part)[2:]]
        body.append("</ul>")
    return html_page(title, "\n".join(body))
