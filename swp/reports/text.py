"""Plain text statements: what `swp statement` prints on a terminal, 78 columns wide."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

from swp.money import format_pence
from swp.reports.statement import BASIS_NAMES, WEIGHT_UNITS, Statement
from swp.rules import format_hours

WIDTH = 78
RULE = "=" * WIDTH


def _row(label: str, value: str, indent: int = 2) -> str:
    left = " " * indent + label
    gap = max(2, WIDTH - len(left) - len(value))
    return f"{left}{' ' * gap}{value}"


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: set[int]) -> list[str]:
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) if rows else len(str(h))
              for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        out = [str(c).rjust(widths[i]) if i in right else str(c).ljust(widths[i])
               for i, c in enumerate(cells)]
        return "  " + "  ".join(out).rstrip()

    return [line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)]


def render(st: Statement) -> str:
    out: list[str] = [
        st.practice,
        f"Profit-share statement for {st.name} ({st.member})",
        RULE,
        _row("Period", f"{st.period}: {st.start} to {st.end}", 0),
        _row("Closed", f"{st.closed_on}" + (f" by {st.closed_by}" if st.closed_by else ""), 0),
        _row("Local authority", st.local_authority, 0),
        "",
        "IN WORDS",
        *[line for sentence in st.in_words() for line in
          textwrap.wrap(sentence, WIDTH, initial_indent="  ", subsequent_indent="  ")],
        "",
        "THE PRACTICE'S RESULT FOR THE PERIOD",
        "  Income",
    ]
    out += [_row(line.category, format_pence(line.pence), 4) for line in st.income] or ["    (none)"]
    out.append(_row("Total income", format_pence(st.income_pence)))
    out.append("  Expenses")
    out += [_row(line.category, format_pence(line.pence), 4) for line in st.expenses] or ["    (none)"]
    out.append(_row("Total expenses", format_pence(st.expenses_pence)))
    out += [_row(label, format_pence(pence)) for label, pence in st.result_lines()]
    out += ["", "HOW TO CHECK THIS (HOW YOUR SHARE WAS WORKED OUT)",
            _row("Method", st.method),
            _row("Days counted", f"{st.days}" + (f" (after {st.probation_days} days' probation)"
                                                 if st.probation_days else "")),
            ""]
    out += _table(["basis", "%", "slice", "your weight", "total weight", "your part"],
                  [(b.basis, str(b.percent), format_pence(b.slice_pence), f"{b.weight:,}",
                    f"{b.total_weight:,}", format_pence(b.part_pence)) for b in st.basis],
                  right={1, 2, 3, 4, 5})
    out.append("")
    for b in st.basis:
        out.append(f"  {b.basis}: {BASIS_NAMES[b.basis]}; weight = {WEIGHT_UNITS[b.basis]}")
    out += ["", "  Your days in the period"]
    out += _table(["from", "to", "days", "role", "hours", "pay", "service"],
                  [(str(h.start), str(h.end), str(h.days), h.role, format_hours(h.hours_hundredths),
                    format_pence(h.pay_pence), str(h.service)) for h in st.history],
                  right={2, 4, 5, 6})
    out += ["", "YOUR SHARE"]
    out += [_row(label, value) for label, value in st.share_lines()]
    if st.register:
        out += ["", "WHAT THE REGISTER OF MEMBERS HOLDS ABOUT YOU"]
        out += [_row(label, value) for label, value in st.register]
    out += ["", RULE,
            f"Fingerprint {st.fingerprint}",
            f"  ({st.verification})", *st.identity_lines()]
    return "\n".join(out) + "\n"


def render_many(statements: Sequence[Statement]) -> str:
    return "\n\f\n".join(render(st) for st in statements)
