"""CSV statements: one row per figure, `member,section,item,value,pence`.

`pence` holds the exact integer for money rows (empty otherwise); `value` is the figure as
a person reads it (pounds as a plain decimal, so a spreadsheet sees a number). Free text that a
spreadsheet would run as a formula is neutralised with a leading apostrophe
(`swp.reports.spreadsheet`).
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence

from swp.money import pence_to_decimal
from swp.reports.spreadsheet import neutralise
from swp.reports.spreadsheet import writer as spreadsheet_writer
from swp.reports.statement import SettlementRow, Statement

HEADER = ("member", "section", "item", "value", "pence")


def _rows(st: Statement) -> Iterator[tuple[str, str, str, str, str]]:
    def money(section: str, item: str, pence: int) -> tuple[str, str, str, str, str]:
        return (st.member, section, item, str(pence_to_decimal(pence)), str(pence))

    def text(section: str, item: str, value: object) -> tuple[str, str, str, str, str]:
        return (st.member, section, item, neutralise(value), "")

    def settlement_rows(rows: Sequence[SettlementRow], suffix: str) -> Iterator[tuple[str, str, str, str, str]]:
        for settled in rows:
            item = ("deficit_written_off" if settled.kind == "written-off" else "deficit_settled") + suffix
            yield money("share", f"{item}.{settled.on.isoformat()}", settled.pence)
            if settled.resolution is not None:
                yield text("share", f"{item}.{settled.on.isoformat()}.resolution", settled.resolution)

    yield text("statement", "name", st.name)
    yield text("statement", "practice", st.practice)
    yield text("statement", "local_authority", st.local_authority)
    yield text("statement", "period", st.period)
    yield text("statement", "start", st.start.isoformat())
    yield text("statement", "end", st.end.isoformat())
    yield text("statement", "closed_on", st.closed_on.isoformat())
    for line in st.income:
        yield money("income", line.category, line.pence)
    yield money("result", "income", st.income_pence)
    for line in st.expenses:
        yield money("expenses", line.category, line.pence)
    yield money("result", "expenses", st.expenses_pence)
    yield money("result", "net", st.net_pence)
    yield money("result", "reserve", st.reserve_pence)
    yield money("result", "reserve_balance", st.reserve_balance_pence)
    yield money("result", "distributable", st.distributable_pence)
    yield text("basis", "method", st.method)
    yield text("basis", "days", st.days)
    for b in st.basis:
        yield money("basis", f"{b.basis}.slice", b.slice_pence)
        yield text("basis", f"{b.basis}.percent", b.percent)
        yield text("basis", f"{b.basis}.weight", b.weight)
        yield text("basis", f"{b.basis}.total_weight", b.total_weight)
        yield money("basis", f"{b.basis}.part", b.part_pence)
    yield money("share", "amount", st.amount_pence)
    yield text("share", "share_percent", st.share_percent.rstrip("%"))
    yield from settlement_rows(st.settled_before, "_before_close")
    yield money("share", "carried_in", st.carried_in_pence)
    yield money("share", "payable", st.payable_pence)
    yield money("share", "carried_out", st.carried_out_pence)
    yield from settlement_rows(st.settlements, "")
    if st.settlements:
        yield money("share", "deficit_outstanding", st.outstanding_pence)
    yield text("share", "year_start", st.year_start.isoformat())
    yield money("share", "year_to_date", st.year_to_date_pence)
    for label, value in st.register:
        yield text("register", label, value)
    yield text("statement", "fingerprint", st.fingerprint)
    for number, sentence in enumerate(st.in_words(), 1):
        yield text("in_words", str(number), sentence)


def render_many(statements: Sequence[Statement]) -> str:
    buffer = io.StringIO()
    writer = spreadsheet_writer(buffer)
    writer.writerow(HEADER)
    for st in statements:
        writer.writerows(_rows(st))
    return buffer.getvalue()


def render(st: Statement) -> str:
    return render_many([st])
