"""`swp contract`: contracts with the local authority, invoices and outcome payments."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from swp.cli._common import acting, amount, call, day, emit, money, percent

if TYPE_CHECKING:
    from swp.services.contracts import ContractView

contract_app = typer.Typer(help="Contracts with the local authority: invoices, outcome payments.",
                           no_args_is_help=True)

_COLUMNS = ["ref", "value", "outcome %", "invoiced", "left to invoice", "outcome received",
            "outcome at risk", "days left"]
_RIGHT = _COLUMNS[1:]


def _row(v: ContractView) -> tuple[object, ...]:
    days = "ended" if v.status == "ended" else v.days_left
    return (v.ref, money(v.value_pence), v.outcome_percent, money(v.invoiced_pence),
            money(v.invoice_left_pence), money(v.outcome_received_pence),
            money(v.outcome_at_risk_pence), days)


@contract_app.command("add")
def add(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="The contract's reference, e.g. LCC-1."),
    authority: str = typer.Option(..., "--authority", metavar="LA",
                                  help="The local authority the contract is with."),
    value: str = typer.Option(..., "--value", metavar="AMOUNT", help="Its total value."),
    start: str = typer.Option(..., "--start", metavar="DATE", help="First day (YYYY-MM-DD)."),
    end: str = typer.Option(..., "--end", metavar="DATE", help="Last day (YYYY-MM-DD)."),
    outcome_percent: str = typer.Option("0", "--outcome-percent", metavar="P",
                                        help="Whole percentage of the value paid by outcomes."),
    description: str | None = typer.Option(None, "--description", metavar="TEXT", help="What the contract is for."),
) -> None:
    """Record a contract won (refused, exit 3, with another authority while own-authority-only is on).

    Example: swp contract add LCC-1 --authority "Leeds City Council" --value 120000 --start 2026-04-01 --end 2027-03-31 --outcome-percent 20
    """
    from swp.services import contracts

    pence = amount(value)
    first = day(start, "start date")
    last = day(end, "end date")
    share = percent(outcome_percent, "--outcome-percent")
    actor = acting(ctx)
    view = call(ctx, lambda s: contracts.add(
        s, actor=actor, ref=ref, authority=authority, value_pence=pence, start=first, end=last,
        outcome_percent=share, description=description))

    def human() -> str:
        line = (f"Added contract {view.ref} with {view.authority}: {money(view.value_pence)} "
                f"from {view.start} to {view.end}")
        if view.outcome_percent:
            line += (f"; base {money(view.base_pence)}, {money(view.outcome_pence)} "
                     f"({view.outcome_percent}%) paid by outcomes")
        return line + "."

    emit(ctx, {"contract": view.as_json()}, human)


def _payment(ctx: typer.Context, kind: str, ref: str, amount_text: str, date_text: str,
             measure: str | None, memo: str | None) -> None:
    from swp.services import contracts

    pence = amount(amount_text)
    when = day(date_text)
    actor = acting(ctx)
    if kind == "invoice":
        paid = call(ctx, lambda s: contracts.invoice(s, actor=actor, ref=ref, amount_pence=pence,
                                                     day=when, memo=memo))
    else:
        paid = call(ctx, lambda s: contracts.outcome(s, actor=actor, ref=ref, amount_pence=pence,
                                                     day=when, measure=measure or "", memo=memo))
    v = paid.contract
    payload = {"entry": paid.entry, "contract": v.ref, "amount_pence": paid.amount_pence,
               "date": paid.date.isoformat(), "measure": paid.measure,
               "invoiced_pence": v.invoiced_pence, "invoice_left_pence": v.invoice_left_pence,
               "outcome_received_pence": v.outcome_received_pence,
               "outcome_at_risk_pence": v.outcome_at_risk_pence}

    def human() -> str:
        if kind == "invoice":
            return (f"Invoiced {money(paid.amount_pence)} on {v.ref} (entry #{paid.entry}); "
                    f"invoiced {money(v.invoiced_pence)} of the base {money(v.base_pence)}, "
                    f"{money(v.invoice_left_pence)} left.")
        return (f"Outcome payment {money(paid.amount_pence)} on {v.ref} for {paid.measure!r} "
                f"(entry #{paid.entry}); received {money(v.outcome_received_pence)} of "
                f"{money(v.outcome_pence)}, {money(v.outcome_at_risk_pence)} still at risk.")

    emit(ctx, payload, human)


@contract_app.command("invoice")
def invoice(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="The contract's reference."),
    amount_text: str = typer.Argument(..., metavar="AMOUNT", help="e.g. 10000 or £10,000.00"),
    date: str = typer.Option(..., "--date", metavar="DATE"),
    memo: str | None = typer.Option(None, "--memo", metavar="TEXT"),
) -> None:
    """Record contract income (category contracts), up to the contract's base part.

    Example: swp contract invoice LCC-1 8000 --date 2026-04-30 --memo "April"
    """
    _payment(ctx, "invoice", ref, amount_text, date, None, memo)


@contract_app.command("outcome")
def outcome(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="The contract's reference."),
    amount_text: str = typer.Argument(..., metavar="AMOUNT", help="e.g. 6000 or £6,000.00"),
    date: str = typer.Option(..., "--date", metavar="DATE"),
    measure: str = typer.Option(..., "--measure", metavar="TEXT",
                                help="The outcome measure this payment is for."),
    memo: str | None = typer.Option(None, "--memo", metavar="TEXT"),
) -> None:
    """Record an outcome payment (category outcome-payments), up to the outcome part.

    Example: swp contract outcome LCC-1 6000 --date 2026-06-30 --measure "placements stable at 6 months"
    """
    _payment(ctx, "outcome", ref, amount_text, date, measure, memo)


@contract_app.command("list")
def list_(ctx: typer.Context) -> None:
    """List contracts: value, invoiced, outcome received, outcome still at risk, days left.

    Example: swp contract list
    """
    from swp import render
    from swp.services import contracts

    views = call(ctx, contracts.list_contracts, write=False)
    payload: dict[str, Any] = {"contracts": [v.as_json() for v in views],
                               "value_pence": sum(v.value_pence for v in views),
                               "invoiced_pence": sum(v.invoiced_pence for v in views),
                               "invoice_left_pence": sum(v.invoice_left_pence for v in views),
                               "outcome_received_pence": sum(v.outcome_received_pence for v in views),
                               "outcome_at_risk_pence": sum(v.outcome_at_risk_pence for v in views)}

    def human() -> object:
        if not views:
            return "No contracts yet: add one with 'swp contract add'."
        rows = [_row(v) for v in views]
        if len(views) > 1:
            rows.append(("total", money(payload["value_pence"]), "",
                         money(payload["invoiced_pence"]),
                         money(payload["invoice_left_pence"]),
                         money(payload["outcome_received_pence"]),
                         money(payload["outcome_at_risk_pence"]), ""))
        return render.table("Contracts", _COLUMNS, rows, right=_RIGHT)

    emit(ctx, payload, human)


@contract_app.command("show")
def show(ctx: typer.Context,
         ref: str = typer.Argument(..., help="The contract's reference.")) -> None:
    """Show one contract, its parts and every invoice and outcome payment against it.

    Example: swp contract show LCC-1
    """
    from swp import render
    from swp.services import contracts

    view, entries = call(ctx, lambda s: contracts.show(s, ref), write=False)
    payload = {"contract": view.as_json(), "entries": entries}

    def human() -> object:
        from rich.console import Group

        days = "ended" if view.status == "ended" else f"{view.days_left} ({view.status})"
        return Group(
            render.pairs(f"Contract {view.ref}", [
                ("authority", view.authority), ("description", view.description or "-"),
                ("dates", f"{view.start} to {view.end}"), ("days left", days),
                ("value", money(view.value_pence)),
                ("base part", f"{money(view.base_pence)} ({100 - view.outcome_percent}%)"),
                ("outcome part", f"{money(view.outcome_pence)} ({view.outcome_percent}%)"),
                ("invoiced", money(view.invoiced_pence)),
                ("left to invoice", money(view.invoice_left_pence)),
                ("outcome received", money(view.outcome_received_pence)),
                ("outcome at risk", money(view.outcome_at_risk_pence))]),
            render.table("Entries", ["#", "date", "category", "amount", "measure", "memo",
                                     "reverses"],
                         [(e.id, e.date, e.category, money(e.amount_pence), e.measure or "",
                           e.memo or "", e.reverses or "") for e in entries],
                         right=["amount"]))

    emit(ctx, payload, human)


def register(app: typer.Typer) -> None:
    app.add_typer(contract_app, name="contract")
