"""Draw a handout (decision_aid.views.handout_content) as PDF with fpdf2 and the bundled DejaVu Sans.

The fonts ship in decision_aid/fonts/ (licence beside them), so ≥, – and é render
without any system font. Nothing here decides what a patient reads: it only lays
out the sections it is given, one page per page group (a long group is set in
smaller type rather than run on to another page). The type size of each group is
found from heights worked out without drawing (`_Layout`, at the end), and checked
against the drawing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, lru_cache, partial
from pathlib import Path
from typing import Any

from fpdf import FPDF, FontFace
from fpdf.enums import TableBordersLayout

from decision_aid.views.handout_content import Block, Box, Bullets, GridTable, Handout, Para, References, Section

FONT_DIR = Path(__file__).resolve().parents[1] / "fonts"
FONT = "DejaVuSans"
MARGIN = 12  # mm
MIN_SCALE = 0.7  # type no smaller than 70 % of its size, unless a group cannot fit its page so
LAST_RESORT_SCALE = 0.5  # only for the most a patient can be told (every option with its most reasons)
GROW_BELOW = 0.9  # a page filled less than this is tried again in larger type
_PT = 0.3528  # mm per point
KEEP_WITH_HEADING = 25  # mm: a heading closer than this to the foot of a page starts the next
BULLET_INDENT, BULLET_WIDTH = 1.5, 3.5  # mm: where a bullet sits, and the room it takes
REFERENCE_WIDTH = 7  # mm: the room a reference's number takes
VERDICT_INDENT = 4  # mm: an option's verdict line, beside its coloured mark
BOX_PADDING = 2  # mm round the text of a box
URGENT_LINE = 0.7  # mm: the urgent box's frame
URGENT_GAPS = (0.8, 1.2, 0.3)  # mm: under the urgent box's heading, above each subheading, under it
GRID_LABEL_WIDTH = 34  # mm: the Option Grid's row labels
GRID_PADDING = (0.8, 1.2, 0.8, 1.2)  # mm round the Option Grid's cells: top, right, bottom, left
COLUMN_PADDING = (0.0, 3.0, 0.0, 0.0)  # mm round the two-column notes: a gap on the right of each

_INK = (25, 25, 25)
_GREY = (95, 95, 95)
_BLUE = (20, 60, 110)
_WHITE = (255, 255, 255)
_URGENT = (170, 20, 20)  # the urgent box's frame and heading
_URGENT_TINT = (255, 241, 222)  # and its warm (amber) ground
_VERDICT_COLOURS = {  # (mark, cell tint): the colour always sits beside the verdict's words
    "worth_discussing": ((0, 120, 60), (218, 240, 224)),
    "discuss_with_caution": ((190, 110, 0), (253, 238, 208)),
    "not_advised": ((150, 40, 40), (240, 230, 230)),
    "not_applicable": ((110, 110, 110), (236, 236, 236)),
}
# style: (bold, size in pt, colour)
_STYLES = {
    "title": (True, 14, _BLUE),
    "urgent": (True, 12, _URGENT),
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


def _type(name: str, scale: float) -> tuple[bool, float, float]:
    """A style's weight (bold or not), size in points at this scale, and line height in mm."""
    bold, size, _ = _STYLES[name]
    size = size * (scale if name != "footer" else 1)
    return bold, size, size * _PT * (1.4 if size >= 8 else 1.3)


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
        bold, size, h = _type(name, self.scale)
        self.set_font(FONT, "B" if bold else "", size)
        self.set_text_color(*_STYLES[name][2])
        return h

    def gap(self, mm: float) -> None:
        self.ln(mm * self.scale)


def render(handout: Handout) -> bytes:
    """The PDF bytes, each page's type as large as lets that page's sections fit on it.

    The sections fall into page groups (a section with `new_page` starts one), and each
    group gets its own scale of type: a group that runs over its page is set smaller, in
    proportion to how far it ran over, and one well short of its page is tried once a
    little larger (`_fit`). Each height that search asks for is worked out by `_Layout`,
    which breaks the lines and turns the pages as fpdf2 does, from character widths, without
    drawing. Then the whole handout is drawn once, and each group's drawn height is checked
    against the one worked out. A group the layout does not follow (a text with markup it
    does not know), or whose drawn height differs, is measured by drawing it on a scratch
    document instead, as often as its search needs, and the handout is drawn again.
    """
    groups = _groups(handout.sections)
    layout = _Layout()
    scales: list[float | None] = []
    for group in groups:
        try:
            scales.append(_fit(partial(layout.used, group)))
        except _NotLaidOut:
            scales.append(None)
    measured: set[int] = set()  # groups measured by drawing
    while True:
        if None in scales:
            with _RULER_LOCK:
                ruler = HandoutPDF(fonts=_ruler_fonts())
                for i, group in enumerate(groups):
                    if scales[i] is None:
                        scales[i] = _fit(partial(_draw_group, ruler, group))
                        measured.add(i)
        pdf = HandoutPDF(handout.footer)
        pdf.set_creation_date(handout.created)
        pdf.set_title("Patient handout")
        pdf.set_creator("decision_aid")
        pdf.set_producer("decision_aid (fpdf2)")
        wrong = []
        for i, (group, scale) in enumerate(zip(groups, scales, strict=True)):
            drawn = _draw_group(pdf, group, scale)
            if i not in measured and not layout.agrees(group, scale, drawn):
                wrong.append(i)
        if not wrong:
            return bytes(pdf.output())
        _log.warning("handout: the layout differs from the drawing in page group(s) %s; measured by drawing", wrong)
        for i in wrong:
            scales[i] = None


_RULER_LOCK = threading.Lock()
_log = logging.getLogger(__name__)


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


def _fit(used_at: Callable[[float], float]) -> float:
    """The largest scale (at most 1, at least MIN_SCALE) at which a group fits one page, near enough,
    from its height in pages at a scale (`used_at`: worked out, or drawn).

    A group that runs over even at MIN_SCALE is set smaller still, down to
    LAST_RESORT_SCALE, rather than run on to a fourth page.
    """
    scale, used = 1.0, used_at(1.0)
    too_large = 2.0  # the smallest scale seen to run over
    for _ in range(4):
        if used <= 1 or scale <= MIN_SCALE:
            break
        too_large = scale
        # measured: the height drawn grows as about the 4/3 power of the type size
        scale = max(MIN_SCALE, round(scale * used**-0.75 * 0.99, 3))
        used = used_at(scale)
    while used > 1 and scale > LAST_RESORT_SCALE:  # still over: smaller, each step at least 0.005
        too_large = scale
        scale = max(LAST_RESORT_SCALE, round(min(scale - 0.005, scale * used**-0.75 * 0.99), 3))
        used = used_at(scale)
    if used < GROW_BELOW and scale < 1:
        larger = round(min(1.0, scale * (0.96 / used) ** 0.6, (scale + too_large) / 2), 3)
        if used_at(larger) <= 1:
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
        if pdf.get_y() > pdf.page_break_trigger - KEEP_WITH_HEADING:  # keep a heading with what follows
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
    elif isinstance(block, Box):
        _box(pdf, block)


def _box_pieces(box: Box) -> list[tuple[str, str, tuple[float, float, float, float], str]]:
    """The urgent box as cells drawn one under another: (text, style, padding, border)."""
    side = float(BOX_PADDING)
    under_title, above, under = URGENT_GAPS
    pieces = [(box.title, "urgent", (side, side, under_title, side))]
    for heading, text in box.parts:
        pieces += [(heading, "box", (above, side, under, side)), (text, "body", (0.0, side, 0.0, side))]
    last_text, last_style, (top, right, _, left) = pieces[-1]
    pieces[-1] = (last_text, last_style, (top, right, side, left))
    return [
        (t, st, pad, "LR" + ("T" if i == 0 else "") + ("B" if i == len(pieces) - 1 else ""))
        for i, (t, st, pad) in enumerate(pieces)
    ]


def _box(pdf: HandoutPDF, box: Box) -> None:
    """A box styled as urgent: a red frame round a warm ground, its heading in red."""
    line_width = pdf.line_width
    pdf.set_draw_color(*_URGENT)
    pdf.set_fill_color(*_URGENT_TINT)
    pdf.set_line_width(URGENT_LINE)
    for text, style, padding, border in _box_pieces(box):
        h = pdf.style(style)
        pdf.multi_cell(0, h, text, border=border, fill=True, padding=padding, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.set_line_width(line_width)
    pdf.gap(1.5)


def _para(pdf: HandoutPDF, para: Para) -> None:
    style, _, verdict = para.style.partition(":")
    h = pdf.style(style)
    if style == "box":
        pdf.set_fill_color(232, 240, 250)
        pdf.set_draw_color(*_BLUE)
        pdf.multi_cell(
            0, h, para.text, border=1, fill=True, padding=BOX_PADDING, align="L", new_x="LMARGIN", new_y="NEXT"
        )
        pdf.gap(1.5)
        return
    if verdict:
        pdf.gap(0.8)
        pdf.set_fill_color(*_VERDICT_COLOURS[verdict][0])
        pdf.rect(pdf.l_margin, pdf.get_y() + h / 2 - 1.3, 2.6, 2.6, style="F")
        pdf.set_x(pdf.l_margin + VERDICT_INDENT)
    pdf.multi_cell(0, h, para.text, markdown=True, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.gap(1 if style != "title" else 0.5)


def _bullets(pdf: HandoutPDF, bullets: Bullets) -> None:
    h = pdf.style(bullets.style)
    for item in bullets.items:
        pdf.set_x(pdf.l_margin + BULLET_INDENT)
        pdf.cell(BULLET_WIDTH, h, "•")
        pdf.multi_cell(0, h, item, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.gap(1)


def _columns(pdf: HandoutPDF, bullets: Bullets) -> None:
    """Items in two columns side by side, split where the text is half told."""
    h = pdf.style(bullets.style)
    with pdf.table(
        col_widths=(1, 1),
        first_row_as_headings=False,
        borders_layout=TableBordersLayout.NONE,
        line_height=h,
        text_align="LEFT",
        v_align="TOP",
        padding=COLUMN_PADDING,
        markdown=True,
    ) as table:
        row = table.row()
        for text in _halves(bullets.items):
            row.cell(text, style=FontFace(fill_color=_WHITE))
    pdf.gap(1)


def _halves(items: tuple[str, ...]) -> tuple[str, str]:
    """The two columns' texts: the items split where the text is half told."""
    total = sum(len(i) for i in items)
    split, told = len(items), 0
    for n, item in enumerate(items):
        if told >= total / 2:
            split = n
            break
        told += len(item)
    return "\n".join(items[:split]), "\n".join(items[split:])


def _grid(pdf: HandoutPDF, grid: GridTable) -> None:
    h = pdf.style("table")
    pdf.set_draw_color(150, 150, 150)
    with pdf.table(
        col_widths=_grid_widths(pdf.epw, len(grid.header)),
        headings_style=FontFace(emphasis=None),
        line_height=h,
        text_align="LEFT",
        v_align="TOP",
        padding=GRID_PADDING,
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


def _grid_widths(epw: float, options: int) -> tuple[float, ...]:
    """The Option Grid's column widths: the row labels, then the options sharing what is left."""
    return (GRID_LABEL_WIDTH,) + ((epw - GRID_LABEL_WIDTH) / options,) * options


def _references(pdf: HandoutPDF, references: References) -> None:
    h = pdf.style("fine")
    for number, reference in references.items:
        pdf.cell(REFERENCE_WIDTH, h, f"[{number}]")
        pdf.multi_cell(0, h, reference, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.gap(1)


# ---- heights worked out without drawing ------------------------------------------------------
#
# _Flow follows the drawing above step by step (_draw_group, _section, _para, _bullets,
# _columns, _grid, _references) and fpdf2's rules for each step: a line breaks at the last
# space before its text would pass the line's width (a word wider than a line breaks at the
# character), **bold** takes the bold font's widths, each line of a multi_cell turns the
# page when it would pass the page-break line, a table row moves whole to the next page
# (the Option Grid's heading row drawn again above it), and a heading closer than
# KEEP_WITH_HEADING to the foot starts a page. It does fpdf2's float arithmetic in fpdf2's
# order, so a height comes out the same to the last digit; render() checks every group it
# draws against it, and tests/test_handout.py checks groups at many scales.

_TOLERANCE = 1e-9  # fpdf2's FloatTolerance: a line is full when its text passes the width by more
_SPACE = 32
# Characters fpdf2 breaks or draws specially (other spaces, soft hyphen, tab, form feed): not followed.
_SPECIAL = frozenset(
    "\r\x0c\t\u00a0\u00ad\u200b\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2008\u2009\u200a\u205f\u3000"
)
_OTHER_MARKDOWN = ("__", "~~", "--", "\\", "***", "](")  # markup other than **bold**, escapes, links


class _NotLaidOut(Exception):
    """A text the layout does not break into lines as fpdf2 does: its group is measured by drawing."""


@dataclass(frozen=True)
class _Page:
    """What fpdf2 lays a page of one orientation out with, in mm."""

    width: float
    trigger: float  # the page-break line
    top: float
    left: float
    right: float
    cell_margin: float
    k: float  # points per mm

    @property
    def epw(self) -> float:
        return self.width - self.left - self.right  # as FPDF.epw


@cache
def _pages() -> dict[str, _Page]:
    pages = {}
    with _RULER_LOCK:  # the ruler's fonts are shared
        pdf = HandoutPDF(fonts=_ruler_fonts())
        for orientation in ("P", "L"):
            pdf.add_page(orientation=orientation)
            pages[orientation] = _Page(
                pdf.w, pdf.page_break_trigger, pdf.t_margin, pdf.l_margin, pdf.r_margin, pdf.c_margin, pdf.k
            )
    return pages


@cache
def _widths() -> dict[bool, Any]:
    """Each weight's character widths in font units: fpdf2's own tables, by bold or not."""
    fonts = _ruler_fonts()
    return {False: fonts[FONT.lower()].cw, True: fonts[FONT.lower() + "B"].cw}


_Run = tuple[bool, int]  # characters of one weight: (bold, the sum of their widths in font units)
_Line = tuple[float, bool | None, int]  # a line so far: the width of its closed runs, the open run's weight and units
_EMPTY: _Line = (0, None, 0)


@dataclass(frozen=True)
class _Word:
    space: bool | None  # the weight of the space before it; None for a line's first word
    runs: tuple[_Run, ...]
    head: tuple[_Run, ...]  # all but its last character
    last: _Run  # its last character
    chars: tuple[tuple[str, bool], ...]


class _Layout:
    """The heights of a handout's page groups, in pages, at any scale, without drawing them."""

    def __init__(self) -> None:
        self.pages = _pages()
        self.worked_out: dict[tuple[int, float], float] = {}

    def used(self, group: list[Section], scale: float) -> float:
        """The group's height in pages, as _draw_group returns it. Raises _NotLaidOut."""
        key = (id(group), scale)
        if key not in self.worked_out:
            self.worked_out[key] = _Flow(self.pages[group[0].new_page or "P"], scale).group(group)
        return self.worked_out[key]

    def agrees(self, group: list[Section], scale: float, drawn: float) -> bool:
        """Whether the height drawn at this scale is the one worked out for it."""
        return abs(self.worked_out[(id(group), scale)] - drawn) <= _TOLERANCE


class _Flow:
    """One page group laid out at one scale: where each line and row falls, page by page."""

    def __init__(self, page: _Page, scale: float) -> None:
        self.page = page
        self.scale = scale
        self.y: float = page.top
        self.turned = 0  # pages turned since the group's first

    def group(self, group: list[Section]) -> float:
        """_draw_group"""
        for section in group:
            self.section(section)
        page = self.page
        filled = (self.y - page.top) / (page.trigger - page.top)
        return self.turned + max(filled, 0.001) if self.turned else filled

    def section(self, section: Section) -> None:
        """_section and _block"""
        if section.title:
            if self.y > self.page.trigger - KEEP_WITH_HEADING:
                self.turn()
            self.gap(2)
            self.multi_cell(section.title, "heading", False, self.page.left)
            self.gap(0.5)
        for block in section.blocks:
            if isinstance(block, Para):
                self.para(block)
            elif isinstance(block, Bullets) and block.columns == 1:
                self.bullets(block)
            elif isinstance(block, Bullets):
                self.columns(block)
            elif isinstance(block, GridTable):
                self.grid(block)
            elif isinstance(block, References):
                self.references(block)
            elif isinstance(block, Box):
                self.box(block)

    def box(self, box: Box) -> None:
        """_box"""
        for text, style, padding, _ in _box_pieces(box):
            self.multi_cell(text, style, False, self.page.left, padding=padding)
        self.gap(1.5)

    def para(self, para: Para) -> None:
        style, _, verdict = para.style.partition(":")
        if style == "box":
            self.multi_cell(para.text, style, False, self.page.left, padding=float(BOX_PADDING))
            self.gap(1.5)
            return
        x = self.page.left
        if verdict:
            self.gap(0.8)
            x = self.page.left + VERDICT_INDENT
        self.multi_cell(para.text, style, True, x)
        self.gap(1 if style != "title" else 0.5)

    def bullets(self, bullets: Bullets) -> None:
        h = _type(bullets.style, self.scale)[2]
        for item in bullets.items:
            self.cell(h)  # the bullet
            self.multi_cell(item, bullets.style, False, self.page.left + BULLET_INDENT + BULLET_WIDTH)
        self.gap(1)

    def columns(self, bullets: Bullets) -> None:
        h = _type(bullets.style, self.scale)[2]
        width = 0 + (1 / (1 + 1)) * self.page.epw  # Table._get_col_width for col_widths (1, 1)
        cells = [self.cell_height(text, bullets.style, width, COLUMN_PADDING) for text in _halves(bullets.items)]
        self.rows([max(cells) or h], headings=0)
        self.gap(1)

    def grid(self, grid: GridTable) -> None:
        h = _type("table", self.scale)[2]
        epw = self.page.epw
        widths = _grid_widths(epw, len(grid.header))
        cols = [0 + (w / sum(widths)) * epw for w in widths]  # Table._get_col_width
        rows = [["", *(text for text, _ in grid.header)], *([label, *cells] for label, cells in grid.rows)]
        heights = [
            max(self.cell_height(t, "table", c, GRID_PADDING) for t, c in zip(row, cols, strict=True)) or h
            for row in rows
        ]
        self.rows(heights, headings=1)
        self.gap(1)

    def references(self, references: References) -> None:
        h = _type("fine", self.scale)[2]
        for _, reference in references.items:
            self.cell(h)  # the number
            self.multi_cell(reference, "fine", False, self.page.left + REFERENCE_WIDTH)
        self.gap(1)

    # ---- fpdf2's steps ----

    def gap(self, mm: float) -> None:
        """HandoutPDF.gap: FPDF.ln"""
        self.y += mm * self.scale

    def turn(self) -> None:
        self.turned += 1
        self.y = self.page.top

    def cell(self, h: float) -> None:
        """FPDF.cell: a new page first when the cell would pass the page-break line."""
        if self.y + h > self.page.trigger:
            self.turn()

    def multi_cell(
        self, text: str, style: str, markdown: bool, x: float, padding: float | tuple[float, ...] = 0.0
    ) -> None:
        """FPDF.multi_cell(0, h, text) from x: with `padding` all round (or top, right, bottom, left),
        and a cell margin on a side without padding."""
        bold, size, h = _type(style, self.scale)
        page = self.page
        top, right, bottom, left = padding if isinstance(padding, tuple) else (padding,) * 4
        w = page.width - page.right - x
        room = w - right - left
        if not left:
            room = room - page.cell_margin
        if not right:
            room = room - page.cell_margin
        lines = self.lines(text, markdown, bold, size, room)
        self.y += top
        for _ in range(lines):
            if self.y + (h + bottom) > page.trigger:
                self.turn()
                self.y += top
            self.y += h
        self.y += bottom

    def cell_height(self, text: str, style: str, width: float, padding: tuple[float, float, float, float]) -> float:
        """A table cell's height (Table._render_table_cell): nothing when empty, else its lines
        (**bold** on) and its padding; a side without padding keeps a cell margin."""
        if not text:
            return 0
        top, right, bottom, left = padding
        room = width - right - left
        for side in (left, right):
            if not side:
                room -= self.page.cell_margin
        bold, size, h = _type(style, self.scale)
        total: float = 0
        for _ in range(self.lines(text, True, bold, size, room)):
            total += h
        return total + top + bottom

    def rows(self, heights: list[float], headings: int) -> None:
        """Table.render: a row moves whole to a new page when it would pass the page-break line,
        the heading rows drawn again above it; the heading rows never stand alone at a foot."""
        trigger = self.page.trigger
        if len(heights) > headings > 0 and self.y + sum(heights[: headings + 1]) > trigger:
            self.turn()
        for i, height in enumerate(heights):
            if self.y + height > trigger:
                self.turn()
                if self.y + height > trigger:
                    raise _NotLaidOut("a table row taller than a page")
                if i >= headings:
                    for heading in heights[:headings]:
                        self.y += heading
            self.y += height

    def lines(self, text: str, markdown: bool, bold: bool, size: float, room: float) -> int:
        """How many lines fpdf2's MultiLineBreak makes of the text at this size within this width."""
        k = self.page.k
        widths = _widths()

        def extend(line: _Line, runs: tuple[_Run, ...]) -> _Line:
            closed, weight, units = line
            for run_weight, run_units in runs:
                if run_weight == weight:
                    units += run_units
                else:
                    if weight is not None:
                        closed += units * size * 0.001 / k  # a fragment's width: font units to mm
                    weight, units = run_weight, run_units
            return closed, weight, units

        def full(line: _Line, last: _Run) -> bool:
            """Whether the line cannot take this character (fpdf2: width + character > room)."""
            closed, weight, units = line
            width = closed + units * size * 0.001 / k if weight is not None else 0
            return width + last[1] * size * 0.001 / k - room > _TOLERANCE

        count = 0
        for words in _words(text, markdown, bold):
            count += 1
            line = _EMPTY
            for word in words:
                if line is not _EMPTY:
                    spaced = extend(line, ((bool(word.space), widths[bool(word.space)][_SPACE]),))
                    if not full(extend(spaced, word.head), word.last):
                        line = extend(spaced, word.runs)
                        continue
                    count += 1  # broken at the space before the word
                if not full(extend(_EMPTY, word.head), word.last):
                    line = extend(_EMPTY, word.runs)
                    continue
                line = _EMPTY  # a word wider than the line: broken at the character
                for c, weight in word.chars:
                    char = (weight, widths[weight][ord(c)])
                    if full(line, char):
                        if line is _EMPTY:
                            raise _NotLaidOut(text)
                        count += 1
                        line = _EMPTY
                    line = extend(line, (char,))
        return count


@lru_cache(maxsize=8192)
def _words(text: str, markdown: bool, bold: bool) -> tuple[tuple[_Word, ...], ...]:
    """The text's lines as written (split at its newlines), each as its words, as fpdf2 reads
    them: with `markdown`, ** switches between bold and not. Raises _NotLaidOut for what the
    layout does not follow: other markup, special spaces, a space at the start of a line or two
    together, a space before a newline, or a newline at the end."""
    if "{nb}" in text or _SPECIAL.intersection(text) or text.endswith("\n"):
        raise _NotLaidOut(text)
    if markdown and any(marker in text for marker in _OTHER_MARKDOWN):
        raise _NotLaidOut(text)
    chars: list[tuple[str, bool]] = []
    for n, part in enumerate(text.split("**") if markdown else [text]):
        if n:
            bold = not bold
        chars += [(c, bold) for c in part]
    if text and not chars:
        raise _NotLaidOut(text)
    segments: list[list[tuple[str, bool]]] = [[]]
    for c, weight in chars:
        if c == "\n":
            segments.append([])
        else:
            segments[-1].append((c, weight))
    if segments[-1] and segments[-1][-1][0] == " ":  # a space ending the text never starts a line
        segments[-1].pop()
    lines = []
    for segment in segments:
        words: list[_Word] = []
        space: bool | None = None
        current: list[tuple[str, bool]] = []
        for c, weight in [*segment, (" ", False)] if segment else []:
            if c != " ":
                current.append((c, weight))
                continue
            if not current:
                raise _NotLaidOut(text)  # a space at the start of a line, two together, or before a newline
            words.append(_word(space, current))
            space, current = weight, []
        lines.append(tuple(words))
    return tuple(lines)


def _word(space: bool | None, chars: list[tuple[str, bool]]) -> _Word:
    widths = _widths()
    runs: list[list[Any]] = []
    for c, weight in chars:
        if runs and runs[-1][0] == weight:
            runs[-1][1] += widths[weight][ord(c)]
        else:
            runs.append([weight, widths[weight][ord(c)]])
    last_char, last_weight = chars[-1]
    last = (last_weight, widths[last_weight][ord(last_char)])
    head = [list(run) for run in runs]
    head[-1][1] -= last[1]
    if len(chars) == 1 or chars[-2][1] != last_weight:
        head.pop()  # the last character was a run of its own
    return _Word(space, tuple((w, u) for w, u in runs), tuple((w, u) for w, u in head), last, tuple(chars))
