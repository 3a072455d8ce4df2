"""`swp finance`: borrowed money, a liability that carries no control."""

from __future__ import annotations

import typer

from swp.cli._common import acting, amount, call, day, emit, money
from swp.cli._common import rate as parse_rate

finance_app = typer.Typer(help="External finance: plain loans only, never control.",
                          no_args_is_help=True)


@finance_app.command("loan")
def loan(
    ctx: typer.Context,
    lender: str = typer.Argument(..., help="Who lends the money."),
    amount_text: str = typer.Argument(..., metavar="AMOUNT", help="e.g. 25000 or £25,000"),
    date: str = typer.Option(..., "--date", metavar="DATE", help="The day the money arrives."),
    rate: str | None = typer.Option(None, "--rate", metavar="PERCENT", help="Yearly interest, e.g. 4.5."),
    voting_rights: bool = typer.Option(False, "--voting-rights",
                                       help="Votes for the lender: always refused."),
    board_seat: bool = typer.Option(False, "--board-seat",
                                    help="A seat for the lender: always refused."),
    equity_conversion: bool = typer.Option(False, "--equity-conversion",
                                           help="Conversion into shares: always refused."),
    profit_share: bool = typer.Option(False, "--profit-share",
                                      help="A share of profits: always refused."),
) -> None:
    """Record a plain loan: borrowed money, a liability (not income, never shared out). Any
    control right attached to it is refused (exit 3) and nothing is written.

    Example: swp --as mo finance loan "Triodos Bank" 25000 --date 2026-05-01 --rate 4.5
    """
    from swp.services import finance

    pence = amount(amount_text)
    when = day(date)
    points = parse_rate(rate) if rate is not None else None
    actor = acting(ctx)
    view = call(ctx, lambda s: finance.loan(
        s, actor=actor, lender=lender, amount_pence=pence, day=when, rate_basis_points=points,
        voting_rights=voting_rights, board_seat=board_seat, equity_conversion=equity_conversion,
        profit_share=profit_share))
    emit(ctx, {"loan": view.id, "entry": view.entry, "lender": view.lender,
               "amount_pence": view.amount_pence, "date": view.date,
               "rate_basis_points": view.rate_basis_points},
         lambda: f"Recorded loan #{view.id} from {view.lender}: {money(view.amount_pence)} on "
                 f"{view.date} (a liability, entry #{view.entry}).")


@finance_app.command("loans")
def loans(ctx: typer.Context) -> None:
    """List the practice's loans; a loan recorded by mistake, whose entry was reversed
    (swp ledger reverse), shows the reversal.

    Example: swp finance loans
    """
    from swp.services import finance

    views = call(ctx, finance.loans, write=False)

    def human() -> object:
        from swp import render

        return render.table("Loans", ["#", "lender", "amount", "date", "rate", "entry", "reversal"],
                            [(v.id, v.lender, money(v.amount_pence), v.date,
                              finance.format_rate(v.rate_basis_points), v.entry,
                              v.reversed_by if v.reversed_by is not None else "-") for v in views],
                            right=["#", "amount", "rate", "entry", "reversal"])

    emit(ctx, {"loans": views}, human)


def register(app: typer.Typer) -> None:
    app.add_typer(finance_app, name="finance")
