"""`swp db`: the database's schema."""

from __future__ import annotations

import typer

from swp.cli._common import emit, state

db_app = typer.Typer(help="The database: schema upgrades.", no_args_is_help=True)


@db_app.command("upgrade")
def upgrade(ctx: typer.Context) -> None:
    """Migrate the practice's database to this version of swp's schema.

    Example: swp db upgrade
    """
    from swp.services import practice

    st = state(ctx)
    result = practice.upgrade(st.db, actor=st.actor, args=dict(ctx.params))
    emit(ctx, result, lambda: (f"Upgraded the schema from {result['from']} to {result['to']}."
                               if result["changed"] else f"The schema is up to date ({result['to']})."))


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
