"""`swp member`: the register of member-owners."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from swp.cli._common import acting, amount, call, day, emit, money, purposes
from swp.cli._common import hours as weekly_hours

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from swp.services.members import FactView, MemberView
    from swp.services.registers import Contact

member_app = typer.Typer(help="The register of member-owners.", no_args_is_help=True)


def _member_row(m: MemberView) -> tuple[object, ...]:
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
    registration: str | None = typer.Option(None, "--registration", metavar="NUMBER",
                                            help="Social Work England registration (SW and digits): "
                                                 "every practitioner needs one."),
    public_key: str | None = typer.Option(None, "--public-key", metavar="KEY",
                                          help="The newcomer's public key (what 'swp key show' prints, or its file)."),
) -> None:
    """Admit an employee as a member (refused, exit 3, if a clause forbids it).

    The admission enrols the newcomer's public key. A founding member (before the practice
    has a manager) admits themselves, signing with their own key ('swp --as HANDLE key new'
    first); later, a manager admits the newcomer with their --public-key. With no manager any
    more, a current member admits only whom a passed resolution agreed to admit, in the role
    agreed (swp proposal new --admit HANDLE --role ROLE). A sandbox makes every member's key
    itself.

    Example: swp member add dee --name "Dee Okafor" --role practitioner --employed-since 2024-04-01 --hours 37.5 --pay 38000
    """
    from swp.services import members

    since = day(employed_since, "employment date")
    hundredths = weekly_hours(hours)
    pay_pence = amount(pay, allow_zero=True)
    actor = acting(ctx)
    view = call(ctx, lambda s: members.admit(
        s, actor=actor, handle=handle, name=name, role=role, employed_since=since,
        hours_hundredths=hundredths, pay_pence=pay_pence, registration=registration,
        public_key=s.info.get("swp_newcomer_key")), newcomer=handle, newcomer_key=public_key)
    emit(ctx, {"member": view.as_json()}, lambda: f"Admitted {view.name} ({view.handle}) as {view.role}.")


@member_app.command("list")
def list_(ctx: typer.Context,
          all_: bool = typer.Option(False, "--all", help="Include former members."),
          with_addresses: bool = typer.Option(False, "--with-addresses",
                                              help="Include postal and email addresses (personal "
                                                   "data) in --json.")) -> None:
    """List the members (current ones; --all for former members too). Addresses are personal
    data: --json includes them only with --with-addresses.

    Example: swp member list --all
    """
    from swp import render
    from swp.services import members

    def read(s: Session) -> tuple[list[MemberView], dict[str, Contact]]:
        views = members.list_members(s, include_former=all_)
        if not with_addresses:
            return views, {}
        from swp.services import registers  # (and meetings): only for the addresses

        return views, registers.contacts(s)

    views, contacts = call(ctx, read, write=False)
    emit(ctx, {"members": [{**v.as_json(), **({"address": contacts[v.handle].address,
                                               "email": contacts[v.handle].email,
                                               "email_purposes": list(contacts[v.handle].email_purposes)}
                                              if with_addresses else {})} for v in views]},
         lambda: render.table("Members", _COLUMNS, [_member_row(v) for v in views],
                              right=["hours", "pay"]))


@member_app.command("show")
def show(ctx: typer.Context, handle: str | None = typer.Argument(
        None, metavar="HANDLE", help="The member (default: yourself, with --as).")) -> None:
    """Show one member and the history of their role, hours and pay, and (to the member
    themselves or a manager, with --as) what the register of members holds about them.

    Example: swp member show dee
    """
    from swp import render
    from swp.errors import InputError
    from swp.rules import format_hours
    from swp.services import members

    actor = acting(ctx)
    handle = handle or actor
    if handle is None:
        raise InputError("which member? give a handle (swp member show ann), or --as HANDLE "
                         "for your own record")

    def read(s: Session) -> tuple[MemberView, list[FactView], Contact | None]:
        from swp.services import registers

        return (*members.show(s, handle), registers.own_contact(s, actor=actor, handle=handle))

    view, history, held = call(ctx, read, write=False)
    payload = {"member": view.as_json(), "registration": view.registration,
               "register": None if held is None else
               {"address": held.address, "email": held.email,
                "email_purposes": list(held.email_purposes)},
               "key_fingerprint": view.key_fingerprint,
               "history": [{"effective": f.effective, "role": f.role,
                            "hours": format_hours(f.hours_hundredths), "pay_pence": f.pay_pence}
                           for f in history]}

    def human() -> object:
        from rich.console import Group

        return Group(
            render.pairs(f"{view.name} ({view.handle})", [
                ("role", view.role), ("hours", format_hours(view.hours_hundredths)),
                ("pay", money(view.pay_pence)), ("employed since", view.employed_since),
                ("left on", view.left_on or "-"), ("registration", view.registration or "-"),
                ("key", view.key_fingerprint or "none enrolled"),
                ("active", "yes" if view.active else "no"),
                *([("postal address", held.address or "-"), ("email", held.email or "-"),
                   ("email used for", ", ".join(held.email_purposes) or "-")] if held else
                  [("addresses", "shown to the member and to managers (--as)")])]),
            render.table("History", ["effective", "role", "hours", "pay"],
                         [(f.effective, f.role, format_hours(f.hours_hundredths),
                           money(f.pay_pence)) for f in history], right=["hours", "pay"]))

    emit(ctx, payload, human)


@member_app.command("update")
def update(
    ctx: typer.Context,
    handle: str = typer.Argument(...),
    effective: str | None = typer.Option(None, "--effective", metavar="DATE",
                                         help="The day the change of hours, pay or role takes effect."),
    hours: str | None = typer.Option(None, "--hours", metavar="H"),
    pay: str | None = typer.Option(None, "--pay", metavar="AMOUNT"),
    role: str | None = typer.Option(None, "--role", metavar="ROLE"),
    address: str | None = typer.Option(None, "--address", metavar="TEXT",
                                       help="Postal address, for the register of members (\"\" clears)."),
    email: str | None = typer.Option(None, "--email", metavar="EMAIL",
                                     help="Electronic address, for the register (\"\" clears)."),
    email_purposes: str | None = typer.Option(None, "--email-purposes", metavar="LIST",
                                              help="What the email may be used for: notices,statements..."),
    payroll_id: str | None = typer.Option(None, "--payroll-id", metavar="ID",
                                          help="The payroll bureau's reference for the member."),
    ni_number: str | None = typer.Option(None, "--ni-number", metavar="NINO",
                                         help="The member's national insurance number."),
) -> None:
    """Record a change of hours, pay or role from a date on (kept as history); or the postal
    and email addresses the register of members holds (a member may record their own); or the
    member's payroll id and national insurance number (for the payroll file). Each kind of
    change is recorded on its own.

    Example: swp member update dee --effective 2026-01-01 --hours 30
    """
    from swp.errors import InputError
    from swp.services import members

    facts_given = any(v is not None for v in (effective, hours, pay, role))
    contact_given = any(v is not None for v in (address, email, email_purposes))
    payroll_given = payroll_id is not None or ni_number is not None
    if sum((facts_given, contact_given, payroll_given)) > 1:
        raise InputError("record a change of hours, pay or role, the register's addresses, and "
                         "payroll details each on their own")
    if contact_given:
        from swp.services import registers

        actor = acting(ctx)
        wanted = purposes(email_purposes) if email_purposes is not None else None
        held = call(ctx, lambda s: registers.set_contact(s, actor=actor, handle=handle,
                                                         address=address, email=email,
                                                         purposes=wanted))
        emit(ctx, {"member": handle, "register": held},
             lambda: f"Recorded the register details of {handle}.")
        return
    if payroll_given:
        from swp.services import payroll

        actor = acting(ctx)
        found = call(ctx, lambda s: payroll.set_ids(s, actor=actor, handle=handle, payroll_id=payroll_id,
                                                    ni_number=ni_number).handle)
        emit(ctx, {"member": found, "payroll_id": payroll_id is not None, "ni_number": ni_number is not None},
             lambda: f"Recorded payroll details for {found}.")
        return
    if effective is None:
        raise InputError("--effective DATE is needed: the day the change takes effect")
    when = day(effective, "effective date")
    hundredths = weekly_hours(hours) if hours is not None else None
    pay_pence = amount(pay, allow_zero=True) if pay is not None else None
    actor = acting(ctx)
    view = call(ctx, lambda s: members.update(s, actor=actor, handle=handle, effective=when,
                                              hours_hundredths=hundredths, pay_pence=pay_pence,
                                              role=role))
    emit(ctx, {"member": view.as_json()}, lambda: f"Updated {view.handle} from {when}.")


@member_app.command("leave")
def leave(
    ctx: typer.Context,
    handle: str = typer.Argument(...),
    date: str = typer.Option(..., "--date", metavar="DATE", help="Last day of membership."),
    reason: str | None = typer.Option(None, "--reason", metavar="TEXT"),
) -> None:
    """Resign: a member ends their own membership on DATE (their last day, inclusive), --as
    themselves. Ending someone else's membership is refused (exit 3): it needs a passed
    resolution (swp proposal new --expel HANDLE, or --end-employment HANDLE=DATE).

    Example: swp --as cal member leave cal --date 2026-06-30 --reason "moved away"
    """
    from swp.services import members

    on = day(date, "leaving date")
    actor = acting(ctx)
    view = call(ctx, lambda s: members.leave(s, actor=actor, handle=handle, on=on, reason=reason))
    emit(ctx, {"member": view.as_json()}, lambda: f"{view.name} leaves on {on}.")


@member_app.command("invite")
def invite(
    ctx: typer.Context,
    handle: str = typer.Argument(...),
    url: str = typer.Option("http://localhost:8080", "--url", envvar="SWP_URL", metavar="URL",
                            help="The members' page's address, as members reach it."),
) -> None:
    """Print a one-time link for a member to enrol a passkey on the members' page (swp serve).
    It works once, for 72 hours; a new invitation replaces an unused one. Needs --as the
    member themselves; a manager invites only a member with no key and no passkey yet.

    Example: swp --as ann member invite ann --url https://members.example.org
    """
    from swp.services import web

    actor = acting(ctx)
    found = call(ctx, lambda s: web.invite(s, actor=actor, handle=handle, base_url=url))
    emit(ctx, {"invitation": found.as_json()},
         lambda: f"Enrolment link for {found.name} ({found.handle}), valid once until "
                 f"{found.expires_at:%Y-%m-%d %H:%M} UTC:\n{found.url}")


@member_app.command("settle", context_settings={"ignore_unknown_options": True})
def settle(
    ctx: typer.Context,
    handle: str = typer.Argument(...),
    amount_text: str = typer.Argument(..., metavar="AMOUNT", help="What the former member paid in."),
    date: str | None = typer.Option(None, "--date", metavar="DATE", help="The day it was paid (today if not given)."),
) -> None:
    """Record a former member paying in part or all of their outstanding deficit: a ledger
    entry of type settlement into the bank (never income, so no period's pool counts it). The
    members may instead write a deficit off by resolution (swp proposal new --write-off).

    Example: swp --as mo member settle cal 250.00 --date 2026-07-15
    """
    from swp.clock import today
    from swp.jsonable import jsonable
    from swp.services import payroll

    pence = amount(amount_text)
    on = day(date) if date else today()
    actor = acting(ctx)
    done = call(ctx, lambda s: payroll.settle(s, actor=actor, handle=handle, amount_pence=pence, on=on))
    emit(ctx, jsonable(done), lambda: (f"{done.member} paid {money(done.amount_pence)} of their deficit "
                                       f"on {done.on}; still owed: {money(done.outstanding_pence)}."))


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
