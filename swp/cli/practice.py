"""`swp init` and `swp practice show`."""

from __future__ import annotations

import typer

from swp.cli._common import acting, emit, money, state

practice_app = typer.Typer(help="The practice itself.", no_args_is_help=True)


def init(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The practice's name."),
    local_authority: str = typer.Option(..., "--local-authority", help="Its local authority."),
    fiscal_year_start: str = typer.Option("04-01", "--fiscal-year-start", metavar="MM-DD",
                                          help="First day of the financial year (any day but 29 February)."),
    settings: list[str] = typer.Option([], "--set", metavar="CLAUSE=VALUE",
                                       help="A founding value for an amendable clause."),
    sandbox: bool = typer.Option(False, "--sandbox",
                                 help="A sandbox for ever (demos, tests): SWP_TODAY works, swp makes the keys."),
    seed: str | None = typer.Option(None, "--seed", metavar="TEXT",
                                    help="With --sandbox: make its keys from TEXT, not at random, so a "
                                         "rehearsal run again (with SWP_TODAY) writes the same records."),
) -> None:
    """Found a practice: create its database and its founding constitution.

    Only amendable clauses can be set; an entrenched clause is refused (exit 3).
    --sandbox makes a practice to try swp on: it stays a sandbox for ever, says so in every
    output, moves its clock with SWP_TODAY and makes its members' keys itself. With --seed
    the keys come from the text given, so the same commands on the same days give the same
    audit log, fingerprints and statements every run (the demo does this).

    Example: swp init "Riverside Social Work Practice" --local-authority "Leeds City Council" --set sharing.method=equal:50,hours:50
    """
    from swp.services import practice

    st = state(ctx)
    result = practice.init(st.db, name=name, local_authority=local_authority,
                           fiscal_year_start=fiscal_year_start, settings=settings,
                           actor=acting(ctx), args=dict(ctx.params), sandbox=sandbox,
                           seed=seed)
    emit(ctx, result, lambda: f"Founded {result['practice']} ({result['local_authority']}) "
                              f"in {result['database']}" + (" as a SANDBOX (not a real practice)."
                                                             if sandbox else "."))


@practice_app.command("show")
def show(ctx: typer.Context) -> None:
    """Show the practice: its authority, members against the cap, each member's say, reserve,
    periods and the audit head.

    Example: swp practice show
    """
    from swp.cli._common import call
    from swp.services import practice

    summary = call(ctx, practice.show, write=False)
    payload = {
        "name": summary.name, "local_authority": summary.local_authority,
        "fiscal_year_start": summary.fiscal_year_start, "status": summary.status,
        "members": summary.members, "practitioners": summary.practitioners,
        "max_members": summary.cap, "equal_say": summary.equal_say,
        "reserve_pence": summary.reserve_pence, "closed_periods": summary.closed_periods,
        "last_closed_period": summary.last_closed, "open_from": summary.open_from,
        "audit_events": summary.audit_seq, "audit_head": summary.audit_head,
        "sandbox": summary.sandbox,
    }

    def human() -> object:
        from swp import render
        from swp.dates import month_day_words

        title = summary.name + (" (SANDBOX: not a real practice)" if summary.sandbox else "")
        return render.pairs(title, [
            ("local authority", summary.local_authority),
            ("status", summary.status),
            ("members", f"{summary.members} of at most {summary.cap}"),
            ("practitioners", f"{summary.practitioners} (must be more than half)"),
            ("each member's say", f"{summary.equal_say} (one member, one vote)"),
            ("general reserve", money(summary.reserve_pence)),
            ("financial year starts", month_day_words(summary.fiscal_year_start)),
            ("closed periods", summary.closed_periods),
            ("last closed", summary.last_closed or "none"),
            ("open from", summary.open_from or "the start of the books"),
            ("audit head", f"{summary.audit_seq}:{summary.audit_head}"),
        ])

    emit(ctx, payload, human)


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.add_typer(practice_app, name="practice")
