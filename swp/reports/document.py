"""Documents a practice keeps or sends (notices of meetings, minutes, the statutory registers):
one plain data object and one writer per format, on the same machinery as the statements.

A `Document` is a title, the practice's name, its date and sections; a section has a heading,
paragraphs and at most one table. Text and Markdown are for reading and mailing, HTML for a
browser or printing, PDF (fpdf2, in the embedded Open Sans: Latin, Greek and Cyrillic
letters as written, any other by its nearest) for filing, CSV (registers) for a spreadsheet: every table row with its section's
heading first, free text that a spreadsheet would run as a formula neutralised.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from html import escape
from typing import Any

from swp.reports.spreadsheet import neutralise
from swp.reports.spreadsheet import writer as spreadsheet_writer

FORMATS = ("text", "md", "html", "pdf", "csv")
EXTENSIONS = {"text": "txt", "md": "md", "html": "html", "pdf": "pdf", "csv": "csv"}
WIDTH = 78


@dataclass(frozen=True)
class Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Section:
    heading: str
    paragraphs: tuple[str, ...] = ()
    table: Table | None = None


@dataclass(frozen=True)
class Document:
    title: str
    practice: str
    dated: date
    sections: tuple[Section, ...] = field(default_factory=tuple)
    footer: str | None = None

    def as_json(self) -> dict[str, Any]:
        """The JSON names dated date and writes each section's table as an object."""
        return {"title": self.title, "practice": self.practice, "date": self.dated.isoformat(),
                "sections": [{"heading": s.heading, "paragraphs": list(s.paragraphs),
                              "table": None if s.table is None else
                              {"headers": list(s.table.headers),
                               "rows": [list(r) for r in s.table.rows]}}
                             for s in self.sections],
                "footer": self.footer}


def render(doc: Document, fmt: str) -> str | bytes:
    writers: dict[str, Callable[[Document], str | bytes]] = {"text": text, "md": markdown, "html": html, "pdf": pdf,
                                                            "csv": csv_rows}
    return writers[fmt](doc)


# --- text ------------------------------------------------------------------------------------

def _wrap(paragraph: str, indent: str = "") -> list[str]:
    import textwrap

    return textwrap.wrap(paragraph, WIDTH, initial_indent=indent, subsequent_indent=indent,
                         break_long_words=True, break_on_hyphens=False) or [""]


def _text_table(table: Table) -> list[str]:
    """The table in WIDTH columns. One too wide for them is printed a row at a time instead,
    each row headed by its first cell with the others below it, one a line, so that nothing
    is cut and nothing runs past the page."""
    widths = [max(len(h), *(len(r[i]) for r in table.rows)) if table.rows else len(h)
              for i, h in enumerate(table.headers)]

    def line(cells: Sequence[str]) -> str:
        return "  " + "  ".join(str(c).ljust(widths[i]) for i, c in enumerate(cells)).rstrip()

    if not table.rows:
        return [line(table.headers), "  (none)"]
    if sum(widths) + 2 * len(widths) <= WIDTH:
        return [line(table.headers), line(["-" * w for w in widths]),
                *(line(r) for r in table.rows)]
    import textwrap

    label = max(len(h) for h in table.headers[1:])
    out: list[str] = []
    for row in table.rows:
        out += ["", f"  {row[0]}"]
        for header, cell in zip(table.headers[1:], row[1:], strict=True):
            out += textwrap.wrap(str(cell), WIDTH, initial_indent=f"    {header.ljust(label)}  ",
                                 subsequent_indent=" " * (label + 6), break_long_words=False,
                                 break_on_hyphens=False) or [f"    {header}"]
    return out


def text(doc: Document) -> str:
    out = [doc.practice, doc.title, "=" * WIDTH, f"Date: {doc.dated.isoformat()}"]
    for section in doc.sections:
        out += ["", section.heading.upper()]
        for paragraph in section.paragraphs:
            out += _wrap(paragraph, "  ")
        if section.table is not None:
            out += _text_table(section.table)
    if doc.footer:
        out += ["", "=" * WIDTH, *_wrap(doc.footer)]
    return "\n".join(out) + "\n"


# --- Markdown --------------------------------------------------------------------------------

def markdown_text(value: object) -> str:
    """Text people wrote (a name, an address) as Markdown shows it: no table break, emphasis,
    heading, list or HTML of its own."""
    text = str(value).replace("\\", "\\\\").replace("|", "\\|").replace("*", "\\*") \
        .replace("_", "\\_").replace("<", "&lt;")
    return "\\" + text if text[:1] in ("#", "-", "+", ">") else text


def markdown(doc: Document) -> str:
    out = [f"# {markdown_text(doc.title)}", "", f"**{markdown_text(doc.practice)}**, {doc.dated.isoformat()}"]
    for section in doc.sections:
        out += ["", f"## {markdown_text(section.heading)}", ""]
        for paragraph in section.paragraphs:
            out += [markdown_text(paragraph), ""]
        if section.table is not None:
            t = section.table
            out += ["| " + " | ".join(markdown_text(h) for h in t.headers) + " |",
                    "|" + "|".join("---" for _ in t.headers) + "|"]
            out += ["| " + " | ".join(markdown_text(c) for c in row) + " |" for row in t.rows]
            if not t.rows:
                out.append("| " + " | ".join("-" for _ in t.headers) + " |")
            out.append("")
    if doc.footer:
        out += ["", "---", "", markdown_text(doc.footer)]
    return "\n".join(out).rstrip("\n") + "\n"


# --- HTML ------------------------------------------------------------------------------------

STYLE = """
@page { size: A4; margin: 14mm 16mm; }
body { font-family: "Helvetica Neue", Arial, sans-serif; font-size: 10.5pt; color: #111;
       max-width: 180mm; margin: 1.5em auto; line-height: 1.35; }
h1 { font-size: 16pt; margin: 0 0 0.2em; color: #1f4e79; }
h2 { font-size: 11.5pt; margin: 1.1em 0 0.3em; color: #1f4e79; }
table { border-collapse: collapse; width: 100%; margin: 0.3em 0; }
th, td { padding: 2px 6px; border-bottom: 1px solid #ccc; text-align: left; vertical-align: top; }
th { background: #eef3f8; font-weight: 600; }
footer { color: #444; font-size: 9pt; border-top: 1px solid #1f4e79; margin-top: 1.2em; }
"""


def html(doc: Document) -> str:
    body = [f"<header><h1>{escape(doc.title)}</h1><p>{escape(doc.practice)}, "
            f"{doc.dated.isoformat()}</p></header>"]
    for section in doc.sections:
        body.append(f"<section><h2>{escape(section.heading)}</h2>")
        body += [f"<p>{escape(p)}</p>" for p in section.paragraphs]
        if section.table is not None:
            head = "".join(f"<th>{escape(h)}</th>" for h in section.table.headers)
            rows = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>"
                           for row in section.table.rows)
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
        body.append("</section>")
    if doc.footer:
        body.append(f"<footer><p>{escape(doc.footer)}</p></footer>")
    return (f'<!DOCTYPE html>\n<html lang="en-GB">\n<head>\n<meta charset="utf-8">\n'
            f"<title>{escape(doc.title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
            + "\n".join(body) + "\n</body>\n</html>\n")


# --- PDF -------------------------------------------------------------------------------------

PDF_PADDING = 1.2  # mm left and right of a table cell's text
PDF_ROW_LINES = 30  # the most lines of a table row on a page: 126 mm, under a landscape page


def _rows_that_fit(out: Any, cells: list[str], width: float) -> list[list[str]]:
    """One table row as the rows a page can hold: fpdf2 cannot break a row across pages, so
    a cell of more than PDF_ROW_LINES lines (a long address or name) goes on in the rows
    below it, the other cells of those rows empty; no text is lost."""
    from fpdf.enums import MethodReturnValue

    # a little narrower than the cell, so that the table wraps each line as it was measured
    lines = [out.multi_cell(width - 0.5, 4.2, cell, dry_run=True, output=MethodReturnValue.LINES)
             for cell in cells]
    if max((len(cell) for cell in lines), default=0) <= PDF_ROW_LINES:
        return [cells]
    parts = -(-max(len(cell) for cell in lines) // PDF_ROW_LINES)
    return [[("\n".join(cell[k * PDF_ROW_LINES:(k + 1) * PDF_ROW_LINES]) if len(cell) > PDF_ROW_LINES
              else (text if k == 0 else "")) for cell, text in zip(lines, cells, strict=True)]
            for k in range(parts)]

def pdf(doc: Document) -> bytes:
    from fpdf.fonts import FontFace

    from swp.reports.pdf import BLUE, FONT, GREY, PALE, new_pdf, printable

    wide = any(s.table is not None and len(s.table.headers) > 5 for s in doc.sections)
    out = new_pdf("landscape" if wide else "portrait")
    out.set_title(printable(doc.title))
    out.set_author(printable(doc.practice))
    out.set_creator("swp")
    # the same document makes the same file: date it by its own date, not by the clock
    out.set_creation_date(datetime.combine(doc.dated, time(0, 0), tzinfo=UTC))
    out.add_page()
    out.set_font(FONT, "B", 15)
    out.set_text_color(*BLUE)
    out.multi_cell(0, 7, printable(doc.title), new_x="LMARGIN", new_y="NEXT")
    out.set_font(FONT, "", 9)
    out.set_text_color(*GREY)
    out.cell(0, 5, printable(f"{doc.practice}, {doc.dated.isoformat()}"), new_x="LMARGIN",
             new_y="NEXT")
    out.set_text_color(0, 0, 0)
    for section in doc.sections:
        out.ln(2.5)
        out.set_font(FONT, "B", 11)
        out.set_text_color(*BLUE)
        out.multi_cell(0, 6, printable(section.heading), new_x="LMARGIN", new_y="NEXT")
        out.set_text_color(0, 0, 0)
        out.set_font(FONT, "", 9)
        for paragraph in section.paragraphs:
            out.multi_cell(0, 4.4, printable(paragraph), new_x="LMARGIN", new_y="NEXT")
            out.ln(0.8)
        if section.table is not None and section.table.headers:
            with out.table(width=out.epw, align="LEFT", line_height=4.2,
                           headings_style=FontFace(emphasis="BOLD", fill_color=PALE),
                           borders_layout="HORIZONTAL_LINES", padding=(0.3, PDF_PADDING)) as table:
                row = table.row()
                for cell in section.table.headers:
                    row.cell(printable(cell))
                width = out.epw / len(section.table.headers) - 2 * PDF_PADDING
                for values in section.table.rows:
                    for part in _rows_that_fit(out, [printable(cell) for cell in values], width):
                        row = table.row()
                        for cell in part:
                            row.cell(cell)
    if doc.footer:
        out.ln(3)
        out.set_font(FONT, "", 7.5)
        out.set_text_color(*GREY)
        out.multi_cell(0, 3.8, printable(doc.footer), new_x="LMARGIN", new_y="NEXT")
    return bytes(out.output())


# --- CSV -------------------------------------------------------------------------------------

def csv_rows(doc: Document) -> str:
    buffer = io.StringIO()
    writer = spreadsheet_writer(buffer)
    header_written = False
    for section in doc.sections:
        if section.table is None:
            continue
        if not header_written:
            writer.writerow(["section", *section.table.headers])
            header_written = True
        for row in section.table.rows:
            # a "-" (nothing held) is an empty cell to a spreadsheet
            writer.writerow([neutralise(section.heading), *("" if c == "-" else neutralise(c) for c in row)])
    return buffer.getvalue()
