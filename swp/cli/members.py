"""`swp member`: the register of member-owners."""

from __future__ import annotations

import typer

from swp.cli._common import amount, call, day, emit, money

member_app = typer.Typer(help="The register of member-owners.", no_args_is_help=True)


def _hours(text: str) -> int:
    from swp.rules import parse_hours

    return parse_hours(text)


def _member_row(m) -> tuple:  # noqa: ANN001
    from swp.rules import format_hours

    return (m.handle, m.name, m.role, format_hours(m.hours_hundredths), money(m.pay_pence),
            m.employed_since, m.left_on or "", "yes" if m.active else "no")


_COLUMNS = ["handle", "name", "role", "hours", "pay", "employed since", "left on", "active"]


@member_app.command("add")
def add(
    ctx: typer.Context,
    handle: str = typer.Argument(..., help="Short name, e.g. dee."),
    name: str = typer.Option(..., "--name", help="Full name."),
    role: str = typer.Option(..., "--role", help="practitioner, manager or staff."),
    employed_since: str = typer.Option(..., "--employed-since", metavar="DATE",
                                       help="First day of employment (YYYY-MM-DD)."),
    hours: str = typer.Option(..., "--hours", metavar="H", help="Contracted weekly hours."),
    pay: str = typer.Option("0", "--pay", metavar="AMOUNT", help="Annual pay."),
    registration: str = typer.Option(None, "--registration", metavar="NUMBER",
                                     help="Social Work England registration (SW and digits): "
                                          "every practitioner needs one."),
) -> None:
    """Admit an employee as a member (refused, exit 3, if a clause forbids it).

    Example: swp member add dee --name "Dee Okafor" --role practitioner --employed-since 2024-04-01 --hours 37.5 --pay 38000
    """
    from swp.services import members

    since = day(employed_since, "employment date")
    hundredths = _hours(hours)
    pay_pence = amount(pay, allow_zero=True)
    actor = ctx.find_root().obj.actor
    view = call(ctx, lambda s: members.admit(
        s, actor=actor, handle=handle, name=name, role=role, employed_since=since,
        hours_hundredths=hundredths, pay_pence=pay_pence, registration=registration))
    emit(ctx, {"member": view.as_json()}, lambda: f"Admitted {view.name} ({view.handle}) as {view.role}.")


@member_app.command("list")
def list_(ctx: typer.Context,
          all_: bool = typer.Option(False, "--all", help="Include former members.")) -> None:
    """List the members (current ones; --all for former members too).

    Example: swp member list --all
    """
    from swp import render
    from swp.services import members

    views = call(ctx, lambda s: members.list_members(s, include_former=all_), write=False)
    emit(ctx, {"members": [v.as_json() for v in views]},
         lambda: render.table("Members", _COLUMNS, [_member_row(v) for v in views],
                              right=["hours", "pay"]))


@member_app.command("show")
def show(ctx: typer.Context, handle: str = typer.Argument(...)) -> None:
    """Show one member and the history of their role, hours and pay.

    Example: swp member show dee
    """
    from swp import render
    from swp.rules import format_hours
    from swp.services import members

    view, history = call(ctx, lambda s: members.show(s, handle), write=False)
    payload = {"member": view.as_json(), "registration": view.registration,
               "history": [{"effective": f.effective, "role": f.role,
                            "hours": format_hours(f.hours_hundredths), "pay_pence": f.pay_pence}
                           for f in history]}

    def human():
        from rich.console import Group

        return Group(
            render.pairs(f"{view.name} ({view.handle})", [
                ("role", view.role), ("hours", format_hours(view.hours_hundredths)),
                ("pay", money(view.pay_pence)), ("employed since", view.employed_since),
                ("left on", view.left_on or "-"), ("registration", view.registration or "-"),
                ("active", "yes" if view.active else "no")]),
            render.table("History", ["effective", "role", "hours", "pay"],
                         [(f.effective, f.role, format_hours(f.hours_hundredths),
                           money(f.pay_pence)) for f in history], right=["hours", "pay"]))

    emit(ctx, payload, human)


@member_app.command("update")
def update(
    ctx: typer.Context,
    handle: str = typer.Argument(...),
    effective: str = typer.Option(..., "--effective", metavar="DATE",
                                  help="The day the change takes effect."),
    hours: str = typer.Option(None, "--hours", metavar="H"),
    pay: str = typer.Option(None, "--pay", metavar="AMOUNT"),
    role: str = typer.Option(None, "--role"),
) -> None:
    """Record a change of hours, pay or role from a date on (kept as history).

    Example: swp member update dee --effective 2026-01-01 --hours 30
    """
    from swp.services import members

    when = day(effective, "effective date")
    hundredths = _hours(hours) if hours is not None else None
    pay_pence = amount(pay, allow_zero=True) if pay is not None else None
    actor = ctx.find_root().obj.actor
    view = call(ctx, lambda s: members.update(s, actor=actor, handle=handle, effective=when,
                                              hours_hundredths=hundredths, pay_pence=pay_pence,
                                              role=role))
    emit(ctx, {"member": view.as_json()}, lambda: f"Updated {view.handle} from {when}.")


@member_app.command("leave")
def leave(
    ctx: typer.Context,
    handle: str = typer.Argument(...),
    date: str = typer.Option(..., "--date", metavar="DATE", help="Last day of membership."),
    reason: str = typer.Option(None, "--reason"),
) -> None:
    """Resign: a member ends their own membership on DATE (their last day, inclusive), --as
    themselves. Ending someone else's membership is refused (exit 3): it needs a passed
    resolution (swp proposal new --expel HANDLE).

    Example: swp --as cal member leave cal --date 2026-06-30 --reason "moved away"
    """
    from swp.services import members

    on = day(date, "leaving date")
    actor = ctx.find_root().obj.actor
    view = call(ctx, lambda s: members.leave(s, actor=actor, handle=handle, on=on, reason=reason))
    emit(ctx, {"member": view.as_json()}, lambda: f"{view.name} leaves on {on}.")


@member_app.command("transfer")
def transfer(
    ctx: typer.Context,
    handle: str = typer.Argument(...),
    to: str = typer.Option(..., "--to", help="Whoever would receive it."),
) -> None:
    """Always refused (exit 3): a membership cannot be transferred, sold, lent or inherited.

    Example: swp member transfer dee --to "Acme Care Ltd"
    """
    from swp.services import members

    call(ctx, lambda s: members.transfer(s, handle=handle, to=to))


def register(app: typer.Typer) -> None:
    app.add_typer(member_app, name="member")
