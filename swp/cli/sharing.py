"""`swp period` and `swp statement`: sharing profits and expenses, and telling each member."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

import typer

from swp.cli._common import acting, call, choose, day, emit, money, period_label, sharing_method, state

if TYPE_CHECKING:
    from datetime import date

    from swp.services.sharing.workout import Sharing

period_app = typer.Typer(help="Sharing periods: preview, close (and lock), list.",
                         no_args_is_help=True)


class StatementFormat(StrEnum):  # swp.reports.FORMATS, and the payroll file
    text = "text"
    md = "md"
    html = "html"
    pdf = "pdf"
    csv = "csv"
    json = "json"
    payroll = "payroll"


FORMAT_HELP = "text, md, html, pdf, csv or json."


def _sharing_view(result: Sharing, *, closed: bool) -> object:
    """A worked-out period for people: the figures, then one row per member."""
    from rich.console import Group
    from rich.text import Text

    from swp import render

    if result.net_pence >= 0:
        reserve = (f"reserve ({result.reserve_percent}%)", money(result.reserve_pence))
        pool = ("distributable pool", money(result.distributable_pence))
    else:
        reserve = ("met from the reserve", f"{money(-result.reserve_pence)} "
                   f"(of {money(result.reserve_before_pence)} held)")
        pool = ("deficit shared", money(result.distributable_pence))
    title = (f"Period {result.label}" if result.label else "Preview") + \
        f": {result.start} to {result.end}" + (" (closed and locked)" if closed else " (nothing changed)")
    items = [("income", money(result.income_pence)), ("expenses", money(result.expenses_pence)),
             ("net", money(result.net_pence)), reserve, pool, ("method", result.method),
             ("entries", f"{result.entries:,}")]
    if result.fingerprint:
        items.append(("fingerprint", result.fingerprint))
    bases = [s.basis for s in result.slices]

    # the weights behind each part are in --json and the statement's "how to check this" box;
    # the deficit columns appear only when some member has a deficit to bring or carry
    carrying = any(s.carried_in_pence or s.carried_out_pence for s in result.shares)
    columns = ["member", "days", *[f"{b} part" for b in bases], "amount",
               *(["brought fwd"] if carrying else []), "payable",
               *(["carried fwd"] if carrying else [])]
    rows = [(s.member, s.days, *[money(s.parts[b]) for b in bases], money(s.amount_pence),
             *([money(s.carried_in_pence)] if carrying else []), money(s.payable_pence),
             *([money(s.carried_out_pence)] if carrying else [])) for s in result.shares]
    rows.append(("total", "", *[money(s.pence) for s in result.slices],
                 money(result.distributable_pence), *([""] if carrying else []),
                 money(sum(s.payable_pence for s in result.shares)), *([""] if carrying else [])))
    parts = [Text(title, style="bold"), render.pairs(None, items),
             render.table("Allocations", columns, rows, right=columns[1:])]
    if result.entries_before:
        parts.append(f"Note: {result.entries_before:,} income or expense entries are dated before "
                     f"{result.start}; they belong to no period and are never shared.")
    return Group(*parts)


DATE_HELP = "YYYY-MM-DD, today or yesterday"


def _span(ctx: typer.Context, label: str | None, start: str | None, end: str | None) -> tuple[date, date]:
    """The period's first and last day: --start and --end, or worked out from its name."""
    from swp.dates import PERIOD_NAMES, period_dates
    from swp.errors import InputError

    if start is not None or end is not None:
        if start is None or end is None:
            raise InputError("give both --start and --end, or neither and a period name such as "
                             "2026-04, 2026-Q1 or 2025-26")
        return day(start, "start date"), day(end, "end date")
    if label is None:
        raise InputError(f"name the period ({PERIOD_NAMES}), or give --start and --end")
    from swp.services.practice import get_practice

    year_start = call(ctx, lambda s: get_practice(s).fiscal_year_start, write=False)
    span = period_dates(label, year_start)
    if span is None:
        raise InputError(f"cannot tell the dates of a period named {label!r}: name it as "
                         f"{PERIOD_NAMES}, or give --start and --end")
    return span


@period_app.command("preview")
def preview(
    ctx: typer.Context,
    label: str | None = typer.Argument(None, metavar="PERIOD",
                                       help="A month (2026-04), a quarter (2026-Q1), a financial year "
                                            "(2025-26, from the practice's year start) or a year (2026)."),
    start: str | None = typer.Option(None, "--start", metavar="DATE",
                                     help=f"First day of the period ({DATE_HELP})."),
    end: str | None = typer.Option(None, "--end", metavar="DATE",
                                   help=f"Last day of the period, inclusive ({DATE_HELP})."),
    method: str | None = typer.Option(None, "--method", metavar="METHOD",
                                      help="What-if: share by this method instead of sharing.method "
                                           "(equal, hours, pay, service or a blend such as equal:50,hours:50)."),
) -> None:
    """Show what closing a period would allocate to each member, changing nothing.

    Name the period (2026-04, 2026-Q1, 2025-26) or give --start and --end.

    Example: swp period preview 2025-26
    """
    from swp.services.sharing import closing

    first, last = _span(ctx, label, start, end)
    name = period_label(label) if label is not None else None
    parts = sharing_method(method) if method is not None else None
    result = call(ctx, lambda s: closing.preview(s, start=first, end=last, method=parts, label=name),
                  write=False)
    emit(ctx, result.as_json(), lambda: _sharing_view(result, closed=False))


def _at_terminal() -> bool:
    import sys

    return sys.stdin.isatty()


@period_app.command("close")
def close(
    ctx: typer.Context,
    label: str = typer.Argument(..., metavar="PERIOD",
                                help="The period's name: a month (2026-04), a quarter (2026-Q1), a "
                                     "financial year (2025-26) or a year (2026) give its dates; any "
                                     "other name needs --start and --end."),
    start: str | None = typer.Option(None, "--start", metavar="DATE",
                                     help=f"First day of the period ({DATE_HELP})."),
    end: str | None = typer.Option(None, "--end", metavar="DATE",
                                   help=f"Last day of the period, inclusive ({DATE_HELP})."),
    yes: bool = typer.Option(False, "--yes", "-y",
                             help="Do not ask for confirmation at a terminal."),
    leave_unshared: bool = typer.Option(False, "--leave-unshared",
                                        help="Close a first period even though earlier entries "
                                             "would then belong to no period, never shared."),
) -> None:
    """Close a period: record each member's allocation and lock the period's entries.

    This cannot be undone. At a terminal, swp shows what the close records and asks first
    (--yes skips the question; scripts and --json are never asked).

    Example: swp --as mo period close 2026-Q1
    """
    from swp.errors import InputError
    from swp.services.sharing import closing

    name = period_label(label)
    first, last = _span(ctx, name, start, end)
    st = state(ctx)
    actor = acting(ctx)
    if _at_terminal() and not st.json and not yes:
        preview_ = call(ctx, lambda s: closing.preview(s, start=first, end=last, label=name),
                        write=False)
        emit(ctx, preview_.as_json(), lambda: _sharing_view(preview_, closed=False))
        if not typer.confirm(
                f"Close {name} ({first} to {last})? The shares above are recorded and the "
                "period's entries locked for good", default=False):
            raise InputError(f"period {name} not closed; nothing changed")
    result = call(ctx, lambda s: closing.close(s, actor=actor, label=name, start=first, end=last,
                                               leave_unshared=leave_unshared),
                  args=closing.close_args(name, first, last))
    emit(ctx, result.as_json(), lambda: _sharing_view(result, closed=True))


@period_app.command("list")
def list_(ctx: typer.Context) -> None:
    """List the closed periods, oldest first, and the general reserve.

    Example: swp period list
    """
    from rich.console import Group

    from swp import render
    from swp.services.sharing import closing

    views, reserve = call(ctx, closing.list_periods, write=False)
    columns = ["label", "dates", "net", "reserve", "pool", "method", "fingerprint"]
    rows = [(v.label, f"{v.start} to {v.end}", money(v.net_pence), money(v.reserve_pence),
             money(v.distributable_pence), v.method.replace(",", ", "), v.fingerprint[:10])
            for v in views]
    emit(ctx, {"periods": views, "reserve_pence": reserve},
         lambda: Group(render.table("Closed periods", columns, rows,
                                    right=["net", "reserve", "pool"]),
                       f"General reserve: {money(reserve)}") if views else
         f"No period is closed yet. General reserve: {money(reserve)}.")


def statement(
    ctx: typer.Context,
    label: str = typer.Argument(..., metavar="PERIOD", help="The closed period, e.g. 2026-Q1."),
    member: str | None = typer.Option(None, "--member", metavar="HANDLE",
                                      help="One member's statement (default: every member's)."),
    fmt: StatementFormat = typer.Option("text", "--format", metavar="FORMAT", parser=choose(StatementFormat),
                                        help=FORMAT_HELP),
    output: str | None = typer.Option(None, "--output", "-o", metavar="PATH",
                                      help="Write to this file, or to this folder one file per member."),
    force: bool = typer.Option(False, "--force", help="Replace files that already exist."),
    pay_date: str | None = typer.Option(None, "--pay-date", metavar="DATE",
                                        help="With --format payroll: the pay date, if the payment is not yet recorded."),
) -> None:
    """Print or write profit-share statements for a closed period.

    --format payroll writes one CSV for a payroll bureau instead: each member with a payable
    share, their payroll id and national insurance number (if recorded), the gross share, the
    period and the pay date (a manager's task).

    Without --member, every member's. With --output: one file; a folder (an existing one, a
    path ending in '/', or a path with no extension) gets one file per member. A manager
    issues anyone's statement; a member sees their own (--as HANDLE is enough).

    Example: swp --as mo statement 2026-Q1 --member ann --format pdf --output ann-2026-Q1.pdf
    """
    import sys

    from swp import reports
    from swp.errors import InputError
    from swp.services.sharing import statements

    if fmt is StatementFormat.payroll:
        _payroll(ctx, label, member, output, force, pay_date)
        return
    name = period_label(label)
    st = state(ctx)
    actor = acting(ctx)
    if member is None and actor is not None:
        # a member acting as themselves sees their own statement; a manager issues everyone's
        from swp.services.roles import current_managers

        if actor not in call(ctx, current_managers, write=False):
            member = actor
    found = call(ctx, lambda s: statements.issue(s, actor=actor, label=name, member=member),
                 write=False)
    one = member is not None
    payload: dict[str, Any] = found[0].as_json() if one else {"statements": [s.as_json() for s in found]}

    if output is None:
        if st.json:
            emit(ctx, payload)
            return
        if fmt == "pdf":
            raise InputError("a PDF is written to a file: add --output PATH")
        text = reports.render(found, fmt, one=one)
        sys.stdout.write(text if isinstance(text, str) else text.decode())
        return

    written = reports.write_statements(found, fmt, output, label=name, one=one, force=force)
    if one:
        payload["file"] = written[0]
    else:
        payload["files"] = written
    emit(ctx, payload, lambda: "\n".join(
        [f"Wrote {len(found)} statement{'s' if len(found) != 1 else ''} ({fmt}) for period {name}:",
         *[f"  {w}" for w in written]]))


def _payroll(ctx: typer.Context, label: str, member: str | None, output: str | None, force: bool,
             pay_date: str | None) -> None:
    import sys
    from pathlib import Path

    from swp import files as files_
    from swp.errors import InputError
    from swp.services import payroll

    if member is not None:
        raise InputError("the payroll file holds every member with a payable share; leave out --member")
    name = period_label(label)
    when = day(pay_date, "pay date") if pay_date else None
    st = state(ctx)
    actor = acting(ctx)
    rows = call(ctx, lambda s: payroll.payroll_rows(s, actor=actor, label=name, pay_date=when),
                write=False)
    payload: dict[str, Any] = {"period": name, "rows": rows,
                               "total_pence": sum(r.payable_pence for r in rows)}
    text = payroll.render_payroll(rows)
    nobody = (f"No member has a payable share for {name}, so the payroll file has only its header."
              if not rows else None)
    if output is None:
        if st.json:
            emit(ctx, payload)
        else:
            sys.stdout.write(text)
            if nobody:
                sys.stderr.write(nobody + "\n")
        return
    path = Path(output).expanduser()
    target = files_.inside(path, f"{name}-payroll.csv") if path.is_dir() else path
    files_.write_many([(target, text.encode("utf-8"))], force=force)
    payload["file"] = str(target)
    wrote = (f"Wrote the payroll file for {name} ({len(rows)} member{'' if len(rows) == 1 else 's'}, "
             f"{money(payload['total_pence'])}): {target}")
    emit(ctx, payload, lambda: f"{nobody}\n{wrote}" if nobody else wrote)


@period_app.command("pay")
def pay(
    ctx: typer.Context,
    label: str = typer.Argument(..., metavar="PERIOD", help="The closed period, e.g. 2026-Q1."),
    date: str = typer.Option(..., "--date", metavar="DATE", help="The day the shares were paid."),
) -> None:
    """Record the payment of a closed period's profit shares (every unpaid payable share).

    Until then the shares are owed to the members (a liability); on the date they leave the
    bank account: one ledger entry per member (type share-payment, never an expense, so no
    period's pool counts it), which reconciliation with the bank takes into account.

    Example: swp --as mo period pay 2026-Q1 --date 2026-04-25
    """
    from swp.jsonable import jsonable
    from swp.services import payroll

    name = period_label(label)
    when = day(date)
    actor = acting(ctx)
    paid = call(ctx, lambda s: payroll.pay(s, actor=actor, label=name, on=when))
    emit(ctx, jsonable(paid), lambda: (
        f"Paid the profit shares of {paid.period} on {paid.paid_on}: {paid.members} members, "
        f"{money(paid.total_pence)}. Still owed to members: {money(paid.shares_owed_pence)}."))


def register(app: typer.Typer) -> None:
    app.add_typer(period_app, name="period")
    app.command("statement")(statement)
