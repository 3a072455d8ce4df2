"""`swp db`: the database's schema."""

from __future__ import annotations

import typer

from swp.cli._common import acting, emit, state

db_app = typer.Typer(help="The database: schema upgrades, and copying a practice to another database.",
                     no_args_is_help=True)


@db_app.command("upgrade")
def upgrade(ctx: typer.Context) -> None:
    """Migrate the practice's database to this version of swp's schema.

    Once a practice signs its changes, the upgrade is recorded as one of them: name the acting
    member, whose key signs it.

    Example: swp --as mo db upgrade
    """
    from swp.services import practice

    st = state(ctx)
    result = practice.upgrade(st.db, actor=acting(ctx), args=dict(ctx.params), key_file=st.key)
    emit(ctx, result, lambda: (f"Upgraded the schema from {result['from']} to {result['to']}."
                               if result["changed"] else f"The schema is up to date ({result['to']})."))


@db_app.command("copy")
def copy(
    ctx: typer.Context,
    to: str = typer.Option(..., "--to", metavar="URL",
                           help="An empty database: a PostgreSQL URL (postgresql+psycopg://user@host/name) "
                                "or a SQLite file path that does not exist yet."),
) -> None:
    """Copy the practice, with its whole history and audit chain, into an empty database.

    Moves a practice from its SQLite file onto a PostgreSQL server, or back, or to another
    database of the same kind. The schema is created on the target, then every row is copied
    with its own id, in one transaction: the target holds the whole practice or nothing. Before
    it commits, the copy is checked against the practice: the same rows in every table, an audit
    chain that verifies to the same head, the same ledger balance and reserve (a mismatch is
    exit 4 and nothing is written). The practice itself is only read. Run 'swp audit verify'
    on the copy afterwards, and stop using the old database (docs/deployment.md).

    Example: swp --db riverside.db db copy --to postgresql+psycopg://riverside@db.example.org/riverside
    """
    from swp.services import copy as service

    result = service.copy(state(ctx).db, to)

    def human() -> str:
        from swp.money import format_pence as money

        width = max(len(name) for name in result.tables)
        counts = [f"  {name:<{width}}  {count:>9,}" for name, count in result.tables.items()]
        return "\n".join([
            f"Copied {result.source} to {result.target}: {result.rows:,} rows in "
            f"{len(result.tables)} tables, in one transaction.",
            *counts,
            f"Verified on the copy: every table holds the same rows; the audit chain verifies "
            f"({result.audit_events:,} events, head {result.audit_head[:16]}); the same balance "
            f"(income {money(result.income_pence)}, expenses {money(result.expenses_pence)}, "
            f"net {money(result.net_pence)}) and reserve ({money(result.reserve_pence)}).",
        ])

    emit(ctx, result.as_json(), human)


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
