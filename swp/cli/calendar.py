"""`swp calendar`: what is due and when (meetings, notices, resolutions, the annual return,
contracts ending)."""

from __future__ import annotations

import typer

from swp.cli._common import acting, call, day, emit

calendar_app = typer.Typer(invoke_without_command=True, no_args_is_help=False)


@calendar_app.callback()
def calendar(ctx: typer.Context) -> None:
    """What is due and when, oldest first, overdue items marked: the next annual general
    meeting's latest lawful date and the last day to give its notice, meetings called, open
    proposals on their agendas, written resolutions' last days, the annual return's deadline
    after each financial year end, contracts ending within 90 days. 'swp check' reports the
    overdue statutory items.

    Example: swp calendar
    """
    if ctx.invoked_subcommand is not None:
        return
    from swp import render
    from swp.services import calendar as cal

    found = call(ctx, cal.items, write=False)
    emit(ctx, {"items": [i.as_json() for i in found],
               "overdue": sum(1 for i in found if i.overdue)},
         lambda: render.table("Calendar", ["due", "", "what", "statutory"],
                              [(i.due, "OVERDUE" if i.overdue else "", i.what,
                                "yes" if i.statutory else "") for i in found]))


@calendar_app.command("filed")
def filed(
    ctx: typer.Context,
    year_end: str = typer.Option(..., "--year-end", metavar="DATE",
                                 help="The financial year end the return is for."),
    on: str | None = typer.Option(None, "--on", metavar="DATE", help="The day it was filed (default: today)."),
) -> None:
    """Record that the annual return and accounts for a financial year were filed (needs --as
    a current manager); the calendar and 'swp check' stop counting it as due.

    Example: swp --as mo calendar filed --year-end 2027-03-31 --on 2027-09-30
    """
    from swp.clock import today
    from swp.services import calendar as cal

    end = day(year_end, "year end")
    when = day(on, "filing date") if on else today()
    actor = acting(ctx)
    item = call(ctx, lambda s: cal.record_filing(s, actor=actor, year_end=end, filed_on=when))
    emit(ctx, {"filing": item.as_json()}, lambda: f"Recorded: {item.what}.")


def register(app: typer.Typer) -> None:
    app.add_typer(calendar_app, name="calendar")
