"""`swp partner`: organisations that share administration costs with the practice."""

from __future__ import annotations

from enum import StrEnum

import typer

from swp.cli._common import acting, amount, call, choose, day, emit, money, percent

partner_app = typer.Typer(help="Partners sharing administration costs (never members or owners).",
                          no_args_is_help=True)


class PartnerKind(StrEnum):  # swp.services.partners.PARTNER_KINDS
    mutual = "mutual"
    charity = "charity"
    cic = "cic"
    local_authority = "local-authority"
    company = "company"


@partner_app.command("add")
def add(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The partner organisation's name."),
    kind: PartnerKind = typer.Option(..., "--kind", parser=choose(PartnerKind),
                                     help="mutual, charity, cic, local-authority or company."),
) -> None:
    """Record a partner organisation (it gains no member, vote or claim on assets).

    Example: swp partner add "Northside Social Work Practice" --kind mutual
    """
    from swp.services import partners

    actor = acting(ctx)
    view = call(ctx, lambda s: partners.add(s, actor=actor, name=name, kind=kind))
    emit(ctx, {"partner": view.as_json()},
         lambda: f"Added partner {view.name} ({view.kind}): it shares costs, never ownership.")


@partner_app.command("list")
def list_(ctx: typer.Context) -> None:
    """List partners and the costs shared with each.

    Example: swp partner list
    """
    from swp import render
    from swp.services import partners

    views = call(ctx, partners.list_partners, write=False)

    def human() -> object:
        if not views:
            return "No partners yet: add one with 'swp partner add'."
        return render.table(
            "Partners", ["name", "kind", "asset-locked", "shared costs", "total", "our part",
                         "their part"],
            [(v.name, v.kind, "yes" if v.asset_locked else "no", v.shared_costs,
              money(v.total_pence), money(v.our_pence), money(v.partner_pence)) for v in views],
            right=["shared costs", "total", "our part", "their part"])

    emit(ctx, {"partners": [v.as_json() for v in views]}, human)


@partner_app.command("cost")
def cost(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The partner's name."),
    amount_text: str = typer.Argument(..., metavar="AMOUNT", help="The whole shared cost."),
    date: str = typer.Option(..., "--date", metavar="DATE"),
    our_percent: str = typer.Option(..., "--our-percent", metavar="P",
                                    help="The practice's whole percentage of the cost (0-100)."),
    memo: str = typer.Option(..., "--memo", help="What the cost was."),
) -> None:
    """Record the practice's part of a shared cost as an expense (category shared-admin).

    Example: swp partner cost "Northside Social Work Practice" 1200.01 --date 2026-05-31 --our-percent 40 --memo "Payroll bureau, May"
    """
    from swp.jsonable import jsonable
    from swp.services import partners

    pence = amount(amount_text)
    when = day(date)
    ours = percent(our_percent, "--our-percent")
    actor = acting(ctx)
    shared = call(ctx, lambda s: partners.cost(s, actor=actor, name=name, total_pence=pence,
                                               day=when, our_percent=ours, memo=memo))
    emit(ctx, jsonable(shared),
         lambda: (f"Shared {money(shared.total_pence)} with {shared.partner} on {shared.date}: "
                  f"our part {money(shared.our_pence)} ({shared.our_percent}%) recorded as "
                  f"expense #{shared.entry} in shared-admin; their part "
                  f"{money(shared.partner_pence)} is theirs to pay, not our cost."))


def register(app: typer.Typer) -> None:
    app.add_typer(partner_app, name="partner")
