"""Draw a handout (decision_aid.handout) as PDF with fpdf2 and the bundled DejaVu Sans.

The fonts ship in decision_aid/fonts/ (licence beside them), so ≥, – and é render
without any system font. Nothing here decides what a patient reads: it only lays
out the sections it is given, one page per page group (a long group is set in
smaller type rather than run on to another page).
"""

from __future__ import annotations

import threading
from functools import cache
from pathlib import Path
from typing import Any

from fpdf import FPDF, FontFace
from fpdf.enums import TableBordersLayout

from decision_aid.handout_content import Block, Bullets, GridTable, Handout, Para, References, Section

FONT_DIR = Path(__file__).resolve().parent / "fonts"
FONT = "DejaVuSans"
MARGIN = 12  # mm
MIN_SCALE = 0.7  # type no smaller than 70 % of its size, unless a group cannot fit its page so
LAST_RESORT_SCALE = 0.5  # only for the most a patient can be told (every option with its most reasons)
GROW_BELOW = 0.9  # a page filled less than this is tried again in larger type
_PT = 0.3528  # mm per point

_INK = (25, 25, 25)
_GREY = (95, 95, 95)
_BLUE = (20, 60, 110)
_WHITE = (255, 255, 255)
_VERDICT_COLOURS = {  # (mark, cell tint): the colour always sits beside the verdict's words
    "worth_discussing": ((0, 120, 60), (218, 240, 224)),
    "discuss_with_caution": ((190, 110, 0), (253, 238, 208)),
    "not_advised": ((150, 40, 40), (240, 230, 230)),
    "not_applicable": ((110, 110, 110), (236, 236, 236)),
}
# style: (bold, size in pt, colour)
_STYLES = {
    "title": (True, 14, _BLUE),
    "heading": (True, 11, _BLUE),
    "meta": (False, 8, _GREY),
    "box": (True, 9, _INK),
    "body": (False, 9, _INK),
    "small": (False, 8, _INK),
    "note": (False, 7.5, _INK),
    "verdict": (False, 9, _INK),
    "table": (False, 7, _INK),
    "fine": (False, 6.5, _INK),
    "footer": (False, 6.5, _GREY),
}


class HandoutPDF(FPDF):
    """A4 pages with the embedded DejaVu Sans and a footer naming date, version and page."""

    def __init__(self, footer_text: str = "", scale: float = 1.0, fonts: dict[str, Any] | None = None) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.footer_text = footer_text
        self.scale = scale
        if fonts:  # already parsed: only for a ruler, whose fonts are never subset and written out
            self.fonts.update(fonts)
        else:
            self.add_font(FONT, "", FONT_DIR / "DejaVuSans.ttf")
            self.add_font(FONT, "B", FONT_DIR / "DejaVuSans-Bold.ttf")
        self.set_margins(MARGIN, MARGIN, MARGIN)
        self.set_auto_page_break(True, margin=MARGIN + 3)
        self.style("body")

    def footer(self) -> None:
        self.set_y(-MARGIN + 1)
        self.style("footer")
        self.cell(0, 4, f"{self.footer_text} · page {self.page_no()} of {{nb}}", align="C")

    def style(self, name: str) -> float:
        """Set a text style; return its line height in mm."""
        bold, size, colour = _STYLES[name]
        size = size * (self.scale if name != "footer" else 1)
        self.set_font(FONT, "B" if bold else "", size)
        self.set_text_color(*colour)
        return size * _PT * (1.4 if size >= 8 else 1.3)

    def gap(self, mm: float) -> None:
        self.ln(mm * self.scale)


def render(handout: Handout) -> bytes:
    """The PDF bytes, each page's type as large as lets that page's sections fit on it.

    The sections fall into page groups (a section with `new_page` starts one). Each
    group is measured on its own, on a scratch document that is never written out:
    a group that runs over its page is measured again smaller, in proportion to how
    far it ran over, and one well short of its page is tried once a little larger.
    Then the whole handout is drawn once, each group at the scale found for it.
    """
    groups = _groups(handout.sections)
    with _RULER_LOCK:
        ruler = HandoutPDF(fonts=_ruler_fonts())
        scales = [_fit(ruler, group) for group in groups]
    pdf = HandoutPDF(handout.footer)
    pdf.set_creation_date(handout.created)
    pdf.set_title("Patient handout")
    pdf.set_creator("decision_aid")
    pdf.set_producer("decision_aid (fpdf2)")
    for group, scale in zip(groups, scales, strict=True):
        _draw_group(pdf, group, scale)
    return bytes(pdf.output())


_RULER_LOCK = threading.Lock()


@cache
def _ruler_fonts() -> dict[str, Any]:
    """The fonts parsed once per process for measuring (parsing takes longer than a page)."""
    return dict(HandoutPDF().fonts)


def _groups(sections: tuple[Section, ...]) -> list[list[Section]]:
    groups: list[list[Section]] = []
    for section in sections:
        if section.new_page or not groups:
            groups.append([])
        groups[-1].append(section)
    return groups


def _fit(ruler: HandoutPDF, group: list[Section]) -> float:
    """The largest scale (at most 1, at least MIN_SCALE) at which the group fits one page, near enough.

    A group that runs over even at MIN_SCALE is set smaller still, down to
    LAST_RESORT_SCALE, rather than run on to a fourth page.
    """
    scale, used = 1.0, _draw_group(ruler, group, 1.0)
    too_large = 2.0  # the smallest scale seen to run over
    for _ in range(4):
        if used <= 1 or scale <= MIN_SCALE:
            break
        too_large = scale
        # measured: the height drawn grows as about the 4/3 power of the type size
        scale = max(MIN_SCALE, round(scale * used**-0.75 * 0.99, 3))
        used = _draw_group(ruler, group, scale)
    while used > 1 and scale > LAST_RESORT_SCALE:  # still over: smaller, each step at least 0.005
        too_large = scale
        scale = max(LAST_RESORT_SCALE, round(min(scale - 0.005, scale * used**-0.75 * 0.99), 3))
        used = _draw_group(ruler, group, scale)
    if used < GROW_BELOW and scale < 1:
        larger = round(min(1.0, scale * (0.96 / used) ** 0.6, (scale + too_large) / 2), 3)
        if _draw_group(ruler, group, larger) <= 1:
            scale = larger
    return scale


def _draw_group(pdf: HandoutPDF, group: list[Section], scale: float) -> float:
    """Draw a group from a new page; return its height in pages (over 1: it ran over)."""
    pdf.scale = scale
    pdf.add_page(orientation=group[0].new_page or "P")
    first = pdf.page_no()
    for section in group:
        _section(pdf, section)
    page_height = pdf.page_break_trigger - pdf.t_margin
    filled = (pdf.get_y() - pdf.t_margin) / page_height
    if pdf.page_no() > first:  # ran on to another page, even one left empty: over 1
        return pdf.page_no() - first + max(filled, 0.001)
    return filled


def _section(pdf: HandoutPDF, section: Section) -> None:
    if section.title:
        if pdf.get_y() > pdf.page_break_trigger - 25:  # keep a heading with what follows
            pdf.add_page(orientation=pdf.cur_orientation)
        pdf.gap(2)
        h = pdf.style("heading")
        pdf.multi_cell(0, h, section.title, align="L", new_x="LMARGIN", new_y="NEXT")
        pdf.gap(0.5)
    for block in section.blocks:
        _block(pdf, block)


def _block(pdf: HandoutPDF, block: Block) -> None:
    if isinstance(block, Para):
        _para(pdf, block)
    elif isinstance(block, Bullets) and block.columns == 1:
        _bullets(pdf, block)
    elif isinstance(block, Bullets):
        _columns(pdf, block)
    elif isinstance(block, GridTable):
        _grid(pdf, block)
    elif isinstance(block, References):
        _references(pdf, block)


def _para(pdf: HandoutPDF, para: Para) -> None:
    style, _, verdict = para.style.partition(":")
    h = pdf.style(style)
    if style == "box":
        pdf.set_fill_color(232, 240, 250)
        pdf.set_draw_color(*_BLUE)
        pdf.multi_cell(0, h, para.text, border=1, fill=True, padding=2, align="L", new_x="LMARGIN", new_y="NEXT")
        pdf.gap(1.5)
        return
    if verdict:
        pdf.gap(0.8)
        pdf.set_fill_color(*_VERDICT_COLOURS[verdict][0])
        pdf.rect(pdf.l_margin, pdf.get_y() + h / 2 - 1.3, 2.6, 2.6, style="F")
        pdf.set_x(pdf.l_margin + 4)
    pdf.multi_cell(0, h, para.text, markdown=True, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.gap(1 if style != "title" else 0.5)


def _bullets(pdf: HandoutPDF, bullets: Bullets) -> None:
    h = pdf.style(bullets.style)
    for item in bullets.items:
        pdf.set_x(pdf.l_margin + 1.5)
        pdf.cell(3.5, h, "•")
        pdf.multi_cell(0, h, item, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.gap(1)


def _columns(pdf: HandoutPDF, bullets: Bullets) -> None:
    """Items in two columns side by side, split where the text is half told."""
    h = pdf.style(bullets.style)
    total = sum(len(i) for i in bullets.items)
    split, told = len(bullets.items), 0
    for n, item in enumerate(bullets.items):
        if told >= total / 2:
            split = n
            break
        told += len(item)
    halves = ("\n".join(bullets.items[:split]), "\n".join(bullets.items[split:]))
    with pdf.table(
        col_widths=(1, 1),
        first_row_as_headings=False,
        borders_layout=TableBordersLayout.NONE,
        line_height=h,
        text_align="LEFT",
        v_align="TOP",
        padding=(0, 3, 0, 0),
        markdown=True,
    ) as table:
        row = table.row()
        for text in halves:
            row.cell(text, style=FontFace(fill_color=_WHITE))
    pdf.gap(1)


def _grid(pdf: HandoutPDF, grid: GridTable) -> None:
    h = pdf.style("table")
    pdf.set_draw_color(150, 150, 150)
    n = len(grid.header)
    label_width = 34
    with pdf.table(
        col_widths=(label_width,) + ((pdf.epw - label_width) / n,) * n,
        headings_style=FontFace(emphasis=None),
        line_height=h,
        text_align="LEFT",
        v_align="TOP",
        padding=(0.8, 1.2),
        markdown=True,
    ) as table:
        heading = table.row()
        heading.cell("", style=FontFace(fill_color=_WHITE))
        for text, verdict in grid.header:
            heading.cell(text, style=FontFace(fill_color=_VERDICT_COLOURS[verdict][1]))
        for label, cells in grid.rows:
            row = table.row()
            row.cell(label, style=FontFace(fill_color=(244, 244, 244)))
            for text in cells:
                row.cell(text, style=FontFace(fill_color=_WHITE))
    pdf.gap(1)


def _references(pdf: HandoutPDF, references: References) -> None:
    h = pdf.style("fine")
    for number, reference in references.items:
        pdf.cell(7, h, f"[{number}]")
        pdf.multi_cell(0, h, reference, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.gap(1)
