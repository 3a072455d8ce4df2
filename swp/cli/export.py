"""`swp export`: the books in a form an accountant's tools read (beancount, CSV, JSON)."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

import typer

from swp.cli._common import call, choose, emit, state

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from swp.services.exporting import Exported


class ExportFormat(StrEnum):
    beancount = "beancount"
    csv = "csv"
    json = "json"


def export(
    ctx: typer.Context,
    fmt: ExportFormat = typer.Argument(..., metavar="FORMAT", parser=choose(ExportFormat),
                                       help="beancount, csv or json."),
    output: str | None = typer.Option(None, "--output", "-o", metavar="PATH",
                                      help="Write to this file (whole or not at all); stdout if not given."),
    force: bool = typer.Option(False, "--force", help="Replace --output if it already exists."),
) -> None:
    """Export the whole ledger for an accountant: beancount, CSV or JSON.

    The beancount file passes bean-check and its totals equal 'swp ledger balance'. CSV
    amounts are plain numbers in pounds; text that a spreadsheet would run as a formula is
    neutralised with a leading quote. An existing --output file is replaced only with --force.

    Example: swp export beancount --output riverside.beancount
    """
    import io
    import sys

    from swp.services import exporting

    if output is not None:
        exporting.check_target(output, force=force)  # refuse before reading the books

        def to_file(session: Session) -> Exported:
            with exporting.atomic_output(output, force=force) as handle:
                return exporting.write(session, fmt, handle)

        result = call(ctx, to_file, write=False)
        emit(ctx, {"format": fmt, "output": output, "entries": result.entries},
             lambda: f"Exported {result.entries} entries as {fmt} to {output}.")
        return

    buffer = io.StringIO()
    result = call(ctx, lambda s: exporting.write(s, fmt, buffer), write=False)
    if state(ctx).json:
        emit(ctx, {"format": fmt, "output": None, "entries": result.entries,
                   "content": buffer.getvalue()})
    else:
        sys.stdout.write(buffer.getvalue())


def register(app: typer.Typer) -> None:
    app.command("export")(export)
