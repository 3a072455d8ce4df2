"""`swp ledger`: the practice's books."""

from __future__ import annotations

import typer

from swp.cli._common import amount, call, day, emit, money

ledger_app = typer.Typer(help="The books: income, expenses, reversals, imports.",
                         no_args_is_help=True)


def _record(ctx: typer.Context, kind: str, amount_text: str, date_text: str, category: str,
            memo: str | None) -> None:
    from swp.services import ledger

    pence = amount(amount_text)
    when = day(date_text)
    actor = ctx.find_root().obj.actor
    entry = call(ctx, lambda s: ledger.record(s, actor=actor, kind=kind, amount_pence=pence,
                                              day=when, category=category, memo=memo))
    emit(ctx, {"entry": entry.id},
         lambda: f"Recorded {kind} #{entry.id}: {money(entry.amount_pence)} {entry.category} on {when}.")


@ledger_app.command("income")
def income(
    ctx: typer.Context,
    amount_text: str = typer.Argument(..., metavar="AMOUNT", help="e.g. 12500 or £12,500.50"),
    date: str = typer.Option(..., "--date", metavar="DATE"),
    category: str = typer.Option(..., "--category", help="e.g. contracts, grants."),
    memo: str = typer.Option(None, "--memo"),
) -> None:
    """Record income received.

    Example: swp ledger income 12500 --date 2026-04-30 --category contracts --memo "April invoice"
    """
    _record(ctx, "income", amount_text, date, category, memo)


@ledger_app.command("expense")
def expense(
    ctx: typer.Context,
    amount_text: str = typer.Argument(..., metavar="AMOUNT", help="e.g. 950 or £950.00"),
    date: str = typer.Option(..., "--date", metavar="DATE"),
    category: str = typer.Option(..., "--category", help="e.g. rent, salaries, training."),
    memo: str = typer.Option(None, "--memo"),
) -> None:
    """Record an expense paid.

    Example: swp ledger expense 950 --date 2026-04-01 --category rent --memo "April rent"
    """
    _record(ctx, "expense", amount_text, date, category, memo)


def register(app: typer.Typer) -> None:
    app.add_typer(ledger_app, name="ledger")
