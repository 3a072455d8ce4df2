"""`swp register`: the statutory registers of members and of officers, as documents."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, cast

import typer

from swp.cli._common import acting, call, choose, day

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from swp.services.registers import OfficerRow, Register, RegisterRow

register_app = typer.Typer(help="The statutory registers (members, officers) as documents.",
                           no_args_is_help=True)


class RegisterFormat(StrEnum):
    text = "text"
    csv = "csv"
    pdf = "pdf"
    md = "md"
    html = "html"


FORMAT_HELP = "text, csv, pdf, md or html."


def _write(ctx: typer.Context, kind: str, as_at: str | None, fmt: RegisterFormat, output: str | None,
           force: bool) -> None:
    from swp.cli.meetings import write_document
    from swp.reports import registers as docs
    from swp.services import registers
    from swp.services.roles import require_manager

    when = day(as_at, "as-at date") if as_at else None
    actor = acting(ctx)

    def read(session: Session) -> Register[RegisterRow] | Register[OfficerRow]:
        require_manager(session, actor, "reading the registers (they hold members' addresses)")
        if kind == "members":
            return registers.members_register(session, when)
        return registers.officers_register(session, when)

    register = call(ctx, read, write=False)
    doc = (docs.members(cast("Register[RegisterRow]", register)) if kind == "members"
           else docs.officers(cast("Register[OfficerRow]", register)))
    write_document(ctx, doc, fmt, output, force,
                   {"register": kind, "as_at": register.as_at.isoformat(),
                    "rows": list(register.rows)},
                   what=f"the register of {kind}")


# the options both registers take
AS_AT = typer.Option(None, "--as-at", metavar="DATE", help="The register as on this day (default: today).")
FORMAT = typer.Option("text", "--format", metavar="FORMAT", parser=choose(RegisterFormat), help=FORMAT_HELP)
OUTPUT = typer.Option(None, "--output", "-o", metavar="PATH", help="Write to this file (mode 0600).")
FORCE = typer.Option(False, "--force", help="Replace a file that already exists.")


@register_app.command("members")
def members(
    ctx: typer.Context,
    as_at: str | None = AS_AT,
    fmt: RegisterFormat = FORMAT,
    output: str | None = OUTPUT,
    force: bool = FORCE,
) -> None:
    """The register of members as at a date, from the member history: each member's name,
    postal address, email and the purposes it may be used for, date admitted, date ceased and
    shares held (none, ever). Needs --as a current manager: it holds members' addresses.

    Example: swp --as mo register members --as-at 2026-03-31 --format pdf --output members.pdf
    """
    _write(ctx, "members", as_at, fmt, output, force)


@register_app.command("officers")
def officers(
    ctx: typer.Context,
    as_at: str | None = AS_AT,
    fmt: RegisterFormat = FORMAT,
    output: str | None = OUTPUT,
    force: bool = FORCE,
) -> None:
    """The register of officers: the members who held the manager role, and when. Needs --as
    a current manager.

    Example: swp --as mo register officers --format csv --output officers.csv
    """
    _write(ctx, "officers", as_at, fmt, output, force)


def register(app: typer.Typer) -> None:
    app.add_typer(register_app, name="register")
