"""What the governance reports share: a self-contained HTML page (inline style, no script, no link
to anything outside the file), a safe Markdown table cell, and writing a report whole or not at all.
"""

from __future__ import annotations

import json
import sys
from html import escape
from typing import Any

from decision_aid.atomic_file import AtomicFile

_STYLE = """
body { font-family: sans-serif; max-width: 72rem; margin: 1.5rem auto; padding: 0 1rem; color: #212121; }
h1, h2, h3 { line-height: 1.25; } code { background: #f5f5f5; padding: 0 0.2rem; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; }
th, td { border: 1px solid #b0bec5; padding: 0.25rem 0.5rem; text-align: left; vertical-align: top; }
.charts { display: flex; flex-wrap: wrap; gap: 1rem; } figure { margin: 0; }
figcaption { font-weight: bold; margin-bottom: 0.25rem; }
.notice { border-left: 4px solid #0d47a1; background: #e3f2fd; padding: 0.5rem 1rem; }
"""


def html_page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    )


def md_cell(text: str) -> str:
    """Text safe inside a Markdown table cell (no column break, no line break)."""
    return " ".join(str(text).split()).replace("|", "\\|")


def as_json(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2, ensure_ascii=False) + "\n"


def write(text: str, output: str | None) -> None:
    """The report on standard output, or into `output` whole or not at all (a missing folder:
    OutputPathError naming it)."""
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    with AtomicFile(output) as out:
        out.write(text.encode("utf-8"))
