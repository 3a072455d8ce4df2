"""Markdown statements (GitHub-flavoured tables)."""

from __future__ import annotations

from collections.abc import Sequence

from swp.money import format_pence
from swp.reports.document import markdown_text
from swp.reports.statement import BASIS_NAMES, WEIGHT_UNITS, Statement
from swp.rules import format_hours


def _cell(text: object) -> str:
    """A table cell as swp writes it (its own bold marks kept); no HTML (`<` is written &lt;)."""
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").replace("<", "&lt;")


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]], right: set[int]) -> list[str]:
    align = ["---:" if i in right else "---" for i in range(len(headers))]
    lines = ["| " + " | ".join(_cell(h) for h in headers) + " |",
             "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines


def render(st: Statement) -> str:
    closed = f"{st.closed_on}" + (f" by {markdown_text(st.closed_by)}" if st.closed_by else "")
    out = [
        f"# Profit-share statement: {markdown_text(st.name)} ({st.member})",
        "",
        f"**{markdown_text(st.practice)}** ({markdown_text(st.local_authority)})  ",
        f"Period **{st.period}**: {st.start} to {st.end}, closed {closed}",
        "",
        *[f"{_cell(sentence)}\n" for sentence in st.in_words()],
        "## The practice's result for the period",
        "",
    ]
    rows: list[tuple[str, str]] = []
    rows += [(f"Income: {line.category}", format_pence(line.pence)) for line in st.income]
    rows.append(("**Total income**", f"**{format_pence(st.income_pence)}**"))
    rows += [(f"Expenses: {line.category}", format_pence(line.pence)) for line in st.expenses]
    rows.append(("**Total expenses**", f"**{format_pence(st.expenses_pence)}**"))
    rows += [(label, format_pence(pence)) for label, pence in st.result_lines()]
    out += _table(["", "amount"], rows, {1})
    out += ["", "## How your share was worked out", "",
            f"Method: `{st.method}`. Days counted: {st.days}"
            + (f" (after {st.probation_days} days' probation)." if st.probation_days else "."), ""]
    out += _table(["basis", "%", "slice", "your weight", "total weight", "your part"],
                  [(b.basis, b.percent, format_pence(b.slice_pence), f"{b.weight:,}",
                    f"{b.total_weight:,}", format_pence(b.part_pence)) for b in st.basis],
                  {1, 2, 3, 4, 5})
    out.append("")
    out += [f"- {b.basis}: {BASIS_NAMES[b.basis]}; weight = {WEIGHT_UNITS[b.basis]}" for b in st.basis]
    out += ["", "Your days in the period:", ""]
    out += _table(["from", "to", "days", "role", "hours", "pay", "service"],
                  [(h.start, h.end, h.days, h.role, format_hours(h.hours_hundredths),
                    format_pence(h.pay_pence), h.service) for h in st.history], {2, 4, 5, 6})
    out += ["", "## Your share", ""]
    out += _table(["", ""], st.share_lines(), {1})
    if st.register:
        out += ["", "## What the register of members holds about you", ""]
        out += _table(["", ""], [(label, markdown_text(value)) for label, value in st.register], set())
    out += ["", f"Fingerprint `{st.fingerprint}` ({st.verification})."]
    out += ["", *[f"{line.strip()}  " for line in st.identity_lines()]]
    return "\n".join(out) + "\n"


def render_many(statements: Sequence[Statement]) -> str:
    return "\n---\n\n".join(render(st) for st in statements)
