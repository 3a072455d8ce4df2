"""HTML statements: one self-contained page (no scripts, no external files) that reads well on
screen and prints on A4, one statement per printed page."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from swp.money import format_pence
from swp.reports.chart import TITLE as CHART_TITLE
from swp.reports.chart import svg as chart_svg
from swp.reports.statement import BASIS_NAMES, WEIGHT_UNITS, Statement
from swp.rules import format_hours

STYLE = """
@page { size: A4; margin: 14mm 16mm; }
body { font-family: "Helvetica Neue", Arial, sans-serif; font-size: 10.5pt; color: #111;
       max-width: 180mm; margin: 1.5em auto; line-height: 1.35; }
.statement { break-after: page; page-break-after: always; }
.statement:last-of-type { break-after: auto; page-break-after: auto; }
header { border-bottom: 2px solid #1f4e79; margin-bottom: 0.8em; }
h1 { font-size: 16pt; margin: 0 0 0.2em; color: #1f4e79; }
h2 { font-size: 11.5pt; margin: 1.1em 0 0.3em; color: #1f4e79; }
p { margin: 0.2em 0; }
table { border-collapse: collapse; width: 100%; margin: 0.3em 0; break-inside: avoid; }
th, td { padding: 2px 6px; border-bottom: 1px solid #ccc; text-align: left; vertical-align: top; }
th { background: #eef3f8; font-weight: 600; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.total td { font-weight: 700; border-top: 1px solid #555; }
tr.key td { font-weight: 700; background: #f6f9fc; }
.note { color: #444; font-size: 9pt; }
figure.chart { margin: 0.4em 0; break-inside: avoid; }
figure.chart svg { display: block; max-width: 170mm; }
.fingerprint { font-family: Menlo, Consolas, monospace; font-size: 8.5pt; word-break: break-all; }
@media print { body { margin: 0; max-width: none; } th { background: #eee !important; } }
"""


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]], numeric: set[int],
           classes: Sequence[str] | None = None) -> str:
    head = "".join(f'<th{" class=n" if i in numeric else ""}>{escape(h)}</th>'
                   for i, h in enumerate(headers))
    body = []
    for index, row in enumerate(rows):
        cls = classes[index] if classes else ""
        cells = "".join(f'<td{" class=n" if i in numeric else ""}>{escape(str(c))}</td>'
                        for i, c in enumerate(row))
        body.append(f'<tr{f" class={cls}" if cls else ""}>{cells}</tr>')
    thead = f"<thead><tr>{head}</tr></thead>" if any(headers) else ""
    return f"<table>{thead}<tbody>{''.join(body)}</tbody></table>"


def section(st: Statement) -> str:
    closed = f"{st.closed_on}" + (f" by {st.closed_by}" if st.closed_by else "")
    result_rows: list[tuple[str, str]] = []
    classes: list[str] = []
    for line in st.income:
        result_rows.append((f"Income: {line.category}", format_pence(line.pence)))
        classes.append("")
    result_rows.append(("Total income", format_pence(st.income_pence)))
    classes.append("total")
    for line in st.expenses:
        result_rows.append((f"Expenses: {line.category}", format_pence(line.pence)))
        classes.append("")
    result_rows.append(("Total expenses", format_pence(st.expenses_pence)))
    classes.append("total")
    for label, pence in st.result_lines():
        result_rows.append((label, format_pence(pence)))
        classes.append("key" if label.startswith(("Distributable", "Deficit shared")) else "")
    basis = _table(["basis", "%", "slice", "your weight", "total weight", "your part"],
                   [(b.basis, b.percent, format_pence(b.slice_pence), f"{b.weight:,}",
                     f"{b.total_weight:,}", format_pence(b.part_pence)) for b in st.basis],
                   {1, 2, 3, 4, 5})
    units = "; ".join(f"{b.basis}: {BASIS_NAMES[b.basis]}, weight = {WEIGHT_UNITS[b.basis]}"
                      for b in st.basis)
    history = _table(["from", "to", "days", "role", "hours", "pay", "service"],
                     [(h.start, h.end, h.days, h.role, format_hours(h.hours_hundredths),
                       format_pence(h.pay_pence), h.service) for h in st.history], {2, 4, 5, 6})
    share_rows = st.share_lines()
    register = ("<h2>What the register of members holds about you</h2>\n"
                + _table(["", ""], list(st.register), set()) + "\n") if st.register else ""
    share = _table(["", ""], share_rows, {1},
                   ["key" if label.startswith(("Your allocation", "Payable")) else ""
                    for label, _ in share_rows])
    probation = f" (after {st.probation_days} days' probation)" if st.probation_days else ""
    return f"""<section class="statement">
<header>
<h1>Profit-share statement</h1>
<p><strong>{escape(st.name)}</strong> ({escape(st.member)}) &middot; {escape(st.practice)}
 &middot; {escape(st.local_authority)}</p>
<p>Period <strong>{escape(st.period)}</strong>: {st.start} to {st.end}, closed {escape(closed)}</p>
</header>
{"".join(f"<p>{escape(sentence)}</p>" for sentence in st.in_words())}
<h2>The practice's result for the period</h2>
{_table(["", "amount"], result_rows, {1}, classes)}
<h2>{escape(CHART_TITLE)}, and your part</h2>
<figure class="chart">
{chart_svg(st)}
<figcaption class="note">Each bar is as long as its amount; the figures are in the table above
 and under "Your share".</figcaption>
</figure>
<h2>How your share was worked out</h2>
<p>Method <strong>{escape(st.method)}</strong>; days counted: {st.days}{escape(probation)}.</p>
{basis}
<p class="note">{escape(units)}.</p>
<p>Your days in the period:</p>
{history}
<h2>Your share</h2>
{share}
{register}<p class="note">Fingerprint <span class="fingerprint">{st.fingerprint}</span>
 ({escape(st.verification)}).</p>
{"".join(f'<p class="note">{escape(line)}</p>' for line in st.identity_lines())}
</section>"""


def render_many(statements: Sequence[Statement]) -> str:
    first = statements[0]
    title = (first.title if len(statements) == 1
             else f"Profit-share statements: {first.practice}, period {first.period}")
    body = "\n".join(section(st) for st in statements)
    return (f'<!DOCTYPE html>\n<html lang="en-GB">\n<head>\n<meta charset="utf-8">\n'
            f"<title>{escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
            f"{body}\n</body>\n</html>\n")


def render(st: Statement) -> str:
    return render_many([st])
