"""PDF statements (fpdf2): one A4 page per member, what a business manager hands a member; the
chart of where the money went sits beside the result when the page has room, else below it.

The font is Open Sans (from the ttf-opensans package, embedded in each file, only the letters
used), so the file needs no font on the machine that makes it or reads it: it prints names
in the Latin, Greek and Cyrillic alphabets as written (Łukasz, Ștefan, Ngô Thị Hồng). A letter
it lacks (Chinese, Arabic) is printed as its nearest letter it has, or "?", rather than failing.

Every income and expense category is listed, as in the other formats (a long list runs onto a
second page); a member with more than MAX_HISTORY stretches of changing facts gets a note
instead of the rest.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Sequence
from datetime import UTC, datetime, time
from typing import TYPE_CHECKING, Literal

from swp.money import format_pence
from swp.reports.statement import BASIS_NAMES, WEIGHT_UNITS, Statement
from swp.rules import format_hours

if TYPE_CHECKING:
    from fpdf import FPDF

MAX_HISTORY = 4
BLUE = (31, 78, 121)
GREY = (90, 90, 90)
PALE = (238, 243, 248)


FONT = "OpenSans"  # the family every PDF of swp's sets its text in (regular and bold)


def new_pdf(orientation: Literal["portrait", "landscape"] = "portrait") -> FPDF:
    """An A4 document in millimetres with swp's margins and its font registered."""
    from fpdf import FPDF
    from ttf_opensans import OPENSANS_BOLD, OPENSANS_REGULAR

    pdf = FPDF(orientation=orientation, unit="mm", format="A4")
    pdf.set_margins(16, 14, 16)
    pdf.set_auto_page_break(auto=True, margin=12)
    pdf.add_font(FONT, "", str(OPENSANS_REGULAR.path))
    pdf.add_font(FONT, "B", str(OPENSANS_BOLD.path))
    return pdf


@functools.cache
def _letters() -> frozenset[int]:
    """The characters both weights of the font can print."""
    from fontTools.ttLib import TTFont
    from ttf_opensans import OPENSANS_BOLD, OPENSANS_REGULAR

    regular, bold = (TTFont(str(font.path), lazy=True) for font in (OPENSANS_REGULAR, OPENSANS_BOLD))
    try:
        return frozenset(regular.getBestCmap()) & frozenset(bold.getBestCmap())
    finally:
        regular.close()
        bold.close()


def printable(text: object) -> str:
    """Text the font can print: as it is, but a letter the font lacks by its nearest letters
    the font has (its accents left off), else "?"."""
    # composed first: a name pasted with its accents as separate marks (Lo + U+0308 + we) has
    # them on its letters (Löwe), which the font has
    value = unicodedata.normalize("NFC", str(text)).replace("\t", " ")
    letters = _letters()
    if all(ord(char) in letters for char in value):
        return value
    out = []
    for char in value:
        if ord(char) in letters or char in "\n\r":
            out.append(char)
            continue
        nearest = unicodedata.normalize("NFKC", char)  # a full-width A, a letter of two: Ａ -> A, ǅ -> Dž
        if not all(ord(c) in letters for c in nearest):  # else the letters without their accents
            nearest = "".join(c for c in unicodedata.normalize("NFKD", char) if ord(c) in letters)
        out.append(nearest or "?")
    return "".join(out)


class _Page:
    def __init__(self, pdf: FPDF) -> None:
        self.pdf = pdf

    def heading(self, text: str) -> None:
        pdf = self.pdf
        pdf.ln(2.5)
        pdf.set_font(FONT, "B", 11)
        pdf.set_text_color(*BLUE)
        pdf.cell(0, 6, printable(text), new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(0, 0, 0)
        pdf.set_font(FONT, "", 9)

    def note(self, text: str, size: float = 8) -> None:
        pdf = self.pdf
        pdf.ln(0.8)
        pdf.set_font(FONT, "", size)
        pdf.set_text_color(*GREY)
        pdf.multi_cell(0, 3.8, printable(text), new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(0, 0, 0)
        pdf.set_font(FONT, "", 9)

    def table(self, headers: Sequence[str] | None, rows: Sequence[Sequence[object]],
              widths: Sequence[float], right: set[int], bold_rows: frozenset[int] | set[int] = frozenset()) -> None:
        from fpdf.fonts import FontFace

        pdf = self.pdf
        pdf.set_font(FONT, "", 9)
        aligns = tuple("RIGHT" if i in right else "LEFT" for i in range(len(widths)))
        bold = FontFace(emphasis="BOLD", fill_color=PALE)
        with pdf.table(col_widths=widths, width=sum(widths), align="LEFT", text_align=aligns,
                       line_height=4.2, first_row_as_headings=headers is not None,
                       headings_style=FontFace(emphasis="BOLD", fill_color=PALE),
                       borders_layout="HORIZONTAL_LINES", padding=(0.3, 1.2)) as table:
            if headers is not None:
                row = table.row()
                for cell in headers:
                    row.cell(printable(cell))
            for index, values in enumerate(rows):
                row = table.row(style=bold if index in bold_rows else None)
                for value in values:
                    row.cell(printable(value))


def _statement_page(pdf: FPDF, st: Statement) -> None:
    page = _Page(pdf)
    pdf.add_page()
    pdf.set_font(FONT, "B", 15)
    pdf.set_text_color(*BLUE)
    pdf.multi_cell(0, 7, printable(st.practice), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "", 12)
    pdf.cell(0, 6, "Profit-share statement", new_x="LMARGIN", new_y="NEXT")
    pdf.set_draw_color(*BLUE)
    pdf.set_line_width(0.6)
    pdf.line(pdf.l_margin, pdf.get_y() + 1, pdf.w - pdf.r_margin, pdf.get_y() + 1)
    pdf.set_line_width(0.2)
    pdf.set_draw_color(0, 0, 0)
    pdf.set_text_color(0, 0, 0)
    pdf.ln(3)
    closed = f"{st.closed_on}" + (f" by {st.closed_by}" if st.closed_by else "")
    for label, value in (("Member", f"{st.name} ({st.member})"),
                         ("Period", f"{st.period}: {st.start} to {st.end}"),
                         ("Closed", closed),
                         ("Local authority", st.local_authority)):
        pdf.set_font(FONT, "B", 9.5)
        pdf.cell(32, 5, printable(label))
        pdf.set_font(FONT, "", 9.5)
        pdf.cell(0, 5, printable(value), new_x="LMARGIN", new_y="NEXT")

    page.heading("In words")
    for sentence in st.in_words():
        pdf.set_font(FONT, "", 9.5)
        pdf.multi_cell(0, 4.6, printable(sentence), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1)

    page.heading("The practice's result for the period")
    rows: list[tuple[str, str]] = []
    bold: set[int] = set()
    # every category, as in the other formats: a long list runs onto a second page
    for category, pence in [(line.category, line.pence) for line in st.income]:
        rows.append((f"Income: {category}", format_pence(pence)))
    bold.add(len(rows))
    rows.append(("Total income", format_pence(st.income_pence)))
    for category, pence in [(line.category, line.pence) for line in st.expenses]:
        rows.append((f"Expenses: {category}", format_pence(pence)))
    bold.add(len(rows))
    rows.append(("Total expenses", format_pence(st.expenses_pence)))
    for label, pence in st.result_lines():
        if label.startswith(("Distributable", "Deficit shared", "Net")):
            bold.add(len(rows))
        rows.append((label, format_pence(pence)))
    from swp.reports import chart

    top, needed = pdf.get_y(), len(rows) * 5.2 + 4
    if not pdf.will_page_break(max(needed, chart.pdf_height(st) + 6)):
        # the chart of where the money went beside the result, on the same page
        page.table(None, rows, (pdf.epw - chart.BESIDE - 42, 38), {1}, bold)
        bottom = pdf.get_y()
        left = pdf.l_margin + pdf.epw - chart.BESIDE
        with pdf.local_context():
            pdf.set_font(FONT, "B", 8)
            pdf.set_text_color(*BLUE)
            pdf.set_xy(left, top)
            pdf.cell(chart.BESIDE, 4, printable(f"{chart.TITLE}, and your part"))
        end = chart.draw_pdf(pdf, st, x=left, y=top + 5, width=chart.BESIDE)
        pdf.set_xy(pdf.l_margin, max(bottom, end))
    else:
        page.table(None, rows, (138, 40), {1}, bold)
        # the heading stays with its chart's first lines
        if pdf.will_page_break(min(chart.pdf_height(st), 40) + 12):
            pdf.add_page()
        page.heading(f"{chart.TITLE}, and your part")
        pdf.set_y(chart.draw_pdf(pdf, st))

    page.heading("How to check this: how your share was worked out")
    probation = f" (after {st.probation_days} days' probation)" if st.probation_days else ""
    pdf.cell(0, 5, printable(f"Method: {st.method}.  Days counted: {st.days}{probation}."),
             new_x="LMARGIN", new_y="NEXT")
    page.table(["basis", "%", "slice", "your weight", "total weight", "your part"],
               [(b.basis, b.percent, format_pence(b.slice_pence), f"{b.weight:,}",
                 f"{b.total_weight:,}", format_pence(b.part_pence)) for b in st.basis],
               (24, 14, 32, 40, 38, 30), {1, 2, 3, 4, 5})
    page.note("; ".join(f"{b.basis}: {BASIS_NAMES[b.basis]}, weight = {WEIGHT_UNITS[b.basis]}"
                        for b in st.basis) + ".")
    pdf.ln(1.5)
    pdf.set_font(FONT, "B", 9)
    pdf.cell(0, 5, "Your days in the period", new_x="LMARGIN", new_y="NEXT")
    history = list(st.history)
    shown = history[:MAX_HISTORY]
    page.table(["from", "to", "days", "role", "hours", "pay", "service"],
               [(h.start, h.end, h.days, h.role, format_hours(h.hours_hundredths),
                 format_pence(h.pay_pence), h.service) for h in shown],
               (26, 26, 16, 34, 22, 32, 22), {2, 4, 5, 6})
    if len(history) > MAX_HISTORY:
        page.note(f"... and {len(history) - MAX_HISTORY} more stretches (see the text or HTML statement).")

    page.heading("Your share")
    lines = st.share_lines()
    page.table(None, lines, (138, 40), {1},
               {i for i, (label, _) in enumerate(lines) if label.startswith(("Your allocation", "Payable"))})

    if st.register:
        page.note("The register of members holds about you: "
                  + "; ".join(f"{label.lower()} {value}" for label, value in st.register) + ".", 7.5)
    pdf.ln(4)
    for line in st.identity_lines():
        page.note(line, 7.5)
    page.note(f"Fingerprint (SHA-256 of the period as closed): {st.fingerprint}", 7.5)
    page.note(f"The fingerprint {st.verification}. It ties this statement to the books: "
              f"'swp statement {st.period} --member {st.member}' prints the same one.", 7.5)


def render_many(statements: Sequence[Statement]) -> bytes:
    pdf = new_pdf()
    first = statements[0]
    pdf.set_title(printable(first.title if len(statements) == 1 else
                         f"Profit-share statements, period {first.period}"))
    pdf.set_author(printable(first.practice))
    pdf.set_creator("swp")
    # the same statement makes the same file: date it by the close, not by the clock
    pdf.set_creation_date(datetime.combine(first.closed_on, time(0, 0), tzinfo=UTC))
    for st in statements:
        _statement_page(pdf, st)
    return bytes(pdf.output())


def render(st: Statement) -> bytes:
    return render_many([st])
