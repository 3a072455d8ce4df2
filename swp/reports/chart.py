"""Where the practice's money went, as a picture: one bar chart per statement, made from the
statement's own figures (the income, each expense category, the reserve, the pool and the
member's part), drawn as inline SVG for HTML (the statement file and the members' page) and
with fpdf2's primitives for PDF.

`bars` says what is drawn and `widths` how long each bar is on one scale, so both pictures show
the same proportions: a bar is as long as its amount (a loss by its size, its label says so).
The figures are in the statement's tables as text too; the SVG carries a <title> and <desc>.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from xml.etree import ElementTree

from swp.money import format_pence
from swp.reports.statement import Statement

# kind -> fill colour (each at least 3:1 against white, as WCAG asks of graphics)
COLOURS = {
    "income": (31, 111, 63),
    "expense": (138, 45, 28),
    "reserve": (91, 112, 131),
    "pool": (31, 78, 121),
    "member": (176, 96, 0),
}
TITLE = "Where the practice's money went"
LABEL_CHARS = 32  # longer labels are shortened in the picture (the tables carry them whole)


@dataclass(frozen=True)
class Bar:
    kind: str  # income | expense | reserve | pool | member
    label: str
    pence: int


def bars(st: Statement) -> list[Bar]:
    """The bars, top to bottom: the income, each expense category, what the reserve kept (or
    met), the pool shared (or the deficit shared) and the member's part of it."""
    out = [Bar("income", "Income", st.income_pence)]
    out += [Bar("expense", line.category, line.pence) for line in st.expenses]
    if st.is_deficit:
        out.append(Bar("reserve", "Met from reserve", -st.reserve_pence))
        out.append(Bar("pool", "Loss shared", st.distributable_pence))
        out.append(Bar("member", "Your part of it", st.amount_pence))
    else:
        out.append(Bar("reserve", "Kept in reserve", st.reserve_pence))
        out.append(Bar("pool", "Members' pool", st.distributable_pence))
        out.append(Bar("member", "Your share", st.amount_pence))
    return out


def widths(items: Sequence[Bar], longest: float) -> list[float]:
    """Each bar's length on one scale: the largest amount is `longest` long."""
    biggest = max([abs(b.pence) for b in items] + [1])
    return [round(longest * abs(b.pence) / biggest, 2) for b in items]


def description(st: Statement) -> str:
    """The picture in words (the SVG's <desc>)."""
    parts = [f"{b.label}: {format_pence(b.pence)}" for b in bars(st)]
    return (f"Bars as long as each amount, period {st.period}. " + "; ".join(parts) + ".")


def _group(bar: Bar) -> str:
    """The income, the expenses and what was left of the surplus are drawn a little apart."""
    return "left" if bar.kind in ("reserve", "pool", "member") else bar.kind


def _short(label: str) -> str:
    return label if len(label) <= LABEL_CHARS else label[:LABEL_CHARS - 1] + "\u2026"


def _hex(rgb: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


# --- SVG ----------------------------------------------------------------------------------------

VIEW_WIDTH = 660
LABEL_WIDTH = 200  # the labels' column; the bars start after it
BAR_LONGEST = 330
ROW = 20
BAR_HEIGHT = 14
GAP = 8  # between the income, the expenses and what was left


def _rows(items: Sequence[Bar]) -> list[float]:
    """Each bar's top, with a gap where the kind of bar changes group."""
    tops, y, group = [], 6.0, None
    for bar in items:
        this = _group(bar)
        if group is not None and this != group:
            y += GAP
        tops.append(y)
        y += ROW
        group = this
    return tops


def svg(st: Statement) -> str:
    """The chart as an <svg> element inline in HTML (which puts it in the SVG namespace, so it
    names none: no script, no style sheet, no address; attributes only)."""
    items = bars(st)
    lengths = widths(items, BAR_LONGEST)
    tops = _rows(items)
    height = round(tops[-1] + ROW + 4) if tops else 10
    ident = "chart-" + "".join(c if c.isalnum() else "-" for c in f"{st.period}-{st.member}")
    root = ElementTree.Element("svg", {
        "class": "chart share-chart", "role": "img",
        "aria-labelledby": f"{ident}-title {ident}-desc", "width": "100%",
        "viewBox": f"0 0 {VIEW_WIDTH} {height}", "font-family": "Helvetica, Arial, sans-serif",
        "font-size": "12"})
    ElementTree.SubElement(root, "title", {"id": f"{ident}-title"}).text = \
        f"{TITLE}, period {st.period}, and your part"
    ElementTree.SubElement(root, "desc", {"id": f"{ident}-desc"}).text = description(st)
    for bar, length, top in zip(items, lengths, tops, strict=True):
        group = ElementTree.SubElement(root, "g", {"class": "bar", "data-kind": bar.kind,
                                                   "data-pence": str(bar.pence)})
        baseline = f"{top + BAR_HEIGHT - 3:g}"
        label = ElementTree.SubElement(group, "text", {"x": "0", "y": baseline, "fill": "#111"})
        label.text = _short(bar.label)
        ElementTree.SubElement(group, "rect", {
            "x": str(LABEL_WIDTH), "y": f"{top:g}", "width": f"{length:g}",
            "height": str(BAR_HEIGHT), "fill": _hex(COLOURS[bar.kind])})
        amount = ElementTree.SubElement(group, "text", {
            "x": f"{LABEL_WIDTH + length + 6:g}", "y": baseline, "fill": "#111"})
        amount.text = format_pence(bar.pence)
    return ElementTree.tostring(root, encoding="unicode", short_empty_elements=False)


# --- PDF ----------------------------------------------------------------------------------------

PDF_ROW = 3.5  # mm
PDF_BAR = 2.6
PDF_GAP = 1.2
PDF_FONT = 7.5
BESIDE = 76.0  # the chart's width beside the result table (the full width otherwise)


def pdf_height(st: Statement) -> float:
    items = bars(st)
    groups = len({_group(b) for b in items})
    return len(items) * PDF_ROW + (groups - 1) * PDF_GAP + 2


def _fit(pdf: Any, text: str, room: float) -> str:
    """The label as printed: shortened to its room (the tables carry it whole)."""
    if pdf.get_string_width(text) <= room:
        return text
    while text and pdf.get_string_width(text + "...") > room:
        text = text[:-1]
    return text + "..."


def draw_pdf(pdf: Any, st: Statement, *, x: float | None = None, y: float | None = None,
             width: float | None = None) -> float:
    """Draw the chart at (x, y) (by default the current position, the full width), running
    onto a new page as a table does. Returns where it ends."""
    from swp.reports.pdf import FONT, printable

    items = bars(st)
    x = pdf.l_margin if x is None else x
    y = pdf.get_y() + 1 if y is None else y
    width = pdf.epw if width is None else width
    label, longest = width * 0.33, width * 0.47
    lengths = widths(items, longest)
    group = None
    for bar, length in zip(items, lengths, strict=True):
        this = _group(bar)
        if group is not None and this != group:
            y += PDF_GAP
        group = this
        pdf.set_xy(x, y)
        if pdf.will_page_break(PDF_ROW):
            pdf.add_page()
            y = pdf.get_y()
        with pdf.local_context():  # the colours and font stay the bar's own (within its page)
            pdf.set_font(FONT, "", PDF_FONT)
            pdf.set_text_color(17, 17, 17)
            pdf.set_xy(x, y)
            pdf.cell(label, PDF_BAR, _fit(pdf, printable(bar.label), label - 1))
            if length > 0:
                pdf.set_fill_color(*COLOURS[bar.kind])
                pdf.rect(x + label, y, length, PDF_BAR, style="F")
            pdf.set_xy(x + label + length + 1, y)
            pdf.cell(width - label - length - 1, PDF_BAR, printable(format_pence(bar.pence)))
        y += PDF_ROW
    return y + 1
