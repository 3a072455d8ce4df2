"""`swp backup`: a verified copy of the live database (SQLite's online backup API)."""

from __future__ import annotations

import typer

from swp.cli._common import emit, state


def backup(
    ctx: typer.Context,
    path: str = typer.Argument(..., metavar="PATH",
                               help="The backup file to write (mode 0600; a missing folder is created)."),
    force: bool = typer.Option(False, "--force", help="Replace PATH if it already exists."),
) -> None:
    """Back up the practice's database to PATH, safely while others keep working.

    Uses SQLite's online backup API (one consistent snapshot; never a file copy), writes the
    copy readable by its owner only, then verifies it (SQLite's integrity check, and the same
    tables, row counts, ledger total and audit head as the live database) before giving it its
    name. An existing PATH is replaced only with --force. A PostgreSQL practice is backed up
    with pg_dump instead. To restore, see docs/operations.md.

    Example: swp backup backups/riverside-2026-06-30.db
    """
    from swp.services import backup as service

    result = service.backup(state(ctx).db, path, force=force)

    def human() -> str:
        c = result.content
        return (f"Backed up {result.source} to {result.path} ({result.bytes:,} bytes, "
                f"{sum(c.tables.values()):,} rows in {len(c.tables)} tables, audit head "
                f"#{c.audit_seq}); verified: integrity ok, same content as the live database.")

    emit(ctx, result.as_json(), human)


def register(app: typer.Typer) -> None:
    app.command("backup")(backup)
