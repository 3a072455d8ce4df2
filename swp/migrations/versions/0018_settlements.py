"""Deficits written off by resolution, and share payments and settlements in the ledger.

`proposal.action` may be 'write-off' (an ordinary resolution forgiving a former member's
deficit); `ledger_entry.kind` may be 'share-payment' (profit shares paid out of the bank) or
'settlement' (a former member's deficit paid into it). Payments and settlements recorded
before this revision get their ledger entries here, so the bank account keeps its balance.

Widening a CHECK constraint: PostgreSQL drops and adds it. SQLite cannot alter a constraint,
so the table is rebuilt. Not with Alembic's batch mode: it renames a new table over the old
one, which SQLite refuses while another table's trigger names the table (vote_open_only names
proposal), and with foreign keys on (swp migrates inside one transaction, where they cannot be
switched off) dropping a table that other rows refer to leaves a violation the rename never
clears. Instead the rows are kept in a temporary table, the table is dropped and created again
under its own name with the wider constraint (the stored CREATE TABLE with only the constraint
changed, so every column later revisions added stays), the rows go back (which clears the
deferred foreign-key count), and every index and trigger the table had, whichever revision
made it, is created again from its stored SQL.

Revision ID: 0018
Revises: 0013
"""

from alembic import op

revision = "0018"
down_revision = "0011"
branch_labels = None
depends_on = None

ACTIONS_BEFORE = "'amend', 'expel', 'merge', 'dissolve'"
ACTIONS_AFTER = "'amend', 'expel', 'merge', 'dissolve', 'write-off'"
KINDS_BEFORE = "'income', 'expense', 'loan'"
KINDS_AFTER = "'income', 'expense', 'loan', 'share-payment', 'settlement'"

# (table, constraint, column, values before, values after)
WIDENED = (
    ("proposal", "proposal_action", "action", ACTIONS_BEFORE, ACTIONS_AFTER),
    ("ledger_entry", "entry_kind", "kind", KINDS_BEFORE, KINDS_AFTER),
)

# the ledger entries of payments and settlements recorded before this revision (the same
# accounts and refs as swp.services.payroll writes)
BACKFILL = (
    "INSERT INTO ledger_entry (date, kind, amount_pence, category, debit, credit, memo, ref, "
    "recorded_at) SELECT pp.paid_on, 'share-payment', pp.amount_pence, 'profit-share', "
    "'liabilities:profit-share-owed', 'assets:bank', 'profit share of ' || p.label || ' paid to ' "
    "|| m.handle, 'swp:share:' || p.label || ':' || m.handle, pp.recorded_at "
    "FROM profit_payment pp JOIN period p ON p.id = pp.period_id "
    "JOIN member m ON m.id = pp.member_id ORDER BY pp.id",
    "INSERT INTO ledger_entry (date, kind, amount_pence, category, debit, credit, memo, ref, "
    "recorded_at) SELECT ds.settled_on, 'settlement', ds.amount_pence, 'deficit-settlements', "
    "'assets:bank', 'assets:deficits-owed', 'deficit settled by ' || m.handle, "
    "'swp:settlement:' || CAST(ds.id AS VARCHAR(20)), ds.recorded_at "
    "FROM deficit_settlement ds JOIN member m ON m.id = ds.member_id "
    "WHERE ds.kind = 'settled' ORDER BY ds.id",
)


def _check(column: str, values: str) -> str:
    return f"{column} IN ({values})"


def _rebuild_sqlite(table: str, old: str, new: str, then=None) -> None:
    """Re-create `table` with `old` (text of its stored CREATE TABLE) replaced by `new`, keeping
    its rows, indexes and triggers; `then()` runs while the table has no triggers yet."""
    conn = op.get_bind()
    ddl = conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?",
                               (table,)).scalar_one()
    if ddl.count(old) != 1:
        raise RuntimeError(f"the {table} table is not as this revision expects: {old!r} not found once")
    keep = [sql for (sql,) in conn.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE tbl_name = ? AND type IN ('index', 'trigger') "
        "AND sql IS NOT NULL ORDER BY type, rowid", (table,))]
    columns = ", ".join(f'"{row[1]}"' for row in conn.exec_driver_sql(f"PRAGMA table_info({table})"))
    holding = f"swp_rebuild_{table}"
    conn.exec_driver_sql("PRAGMA defer_foreign_keys = ON")
    conn.exec_driver_sql(f"CREATE TEMP TABLE {holding} AS SELECT * FROM {table}")
    conn.exec_driver_sql(f"DROP TABLE {table}")
    conn.exec_driver_sql(ddl.replace(old, new))
    conn.exec_driver_sql(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM temp.{holding} "
                         "ORDER BY id")
    conn.exec_driver_sql(f"DROP TABLE temp.{holding}")
    if then is not None:
        then()
    for sql in keep:
        conn.exec_driver_sql(sql)


def _backfill() -> None:
    for statement in BACKFILL:
        op.execute(statement)


def _widen(before: bool) -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table, name, column, old_values, new_values in WIDENED:
        old, new = (new_values, old_values) if before else (old_values, new_values)
        then = _backfill if table == "ledger_entry" and not before else None
        if postgresql:
            op.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
            op.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} CHECK ({_check(column, new)})")
            if then is not None:  # the entries keep their own dates, even inside a closed period
                op.execute("ALTER TABLE ledger_entry DISABLE TRIGGER ledger_entry_period_lock")
                then()
                op.execute("ALTER TABLE ledger_entry ENABLE TRIGGER ledger_entry_period_lock")
        else:
            _rebuild_sqlite(table, f"CHECK ({_check(column, old)})", f"CHECK ({_check(column, new)})",
                            then)


def upgrade() -> None:
    _widen(before=False)


def downgrade() -> None:
    # the entries this revision's kinds wrote cannot go back into a ledger that refuses them
    _widen(before=True)
