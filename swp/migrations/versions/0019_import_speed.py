"""Partial indexes for the ledger's mostly-empty columns, so an import maintains fewer indexes.

`ledger_entry.reverses` (unique: an entry is reversed once) and `ledger_entry.contract_id` are
empty on almost every row, yet each was indexed on every row: each inserted row added an entry
to both indexes, and a big import spent much of its time there. Both become partial indexes of
the rows that have a value (`WHERE ... IS NOT NULL`). What they refuse and find is the same: two
NULLs never clashed under UNIQUE, and a lookup by a value (`contract_id = ?`, `reverses = ?`)
uses the partial index.

PostgreSQL drops the unique constraint and makes the index. SQLite cannot drop a table's
UNIQUE constraint, so the table is rebuilt as revision 0018 rebuilds one: its rows kept in a
temporary table, the table dropped and created again under its own name from its stored CREATE
TABLE with only that constraint left out, the rows put back, and every index and trigger it had
created again from its stored SQL.

Revision ID: 0019
Revises: 0018
"""

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

TABLE = "ledger_entry"
UNIQUE_REF = "UNIQUE (ref)"
UNIQUE_REVERSES = ", \n\tUNIQUE (reverses)"
REVERSES_INDEX = "ix_ledger_entry_reverses"
CONTRACT_INDEX = "ix_ledger_entry_contract_id"
PARTIAL = (
    f"CREATE UNIQUE INDEX {REVERSES_INDEX} ON {TABLE} (reverses) WHERE reverses IS NOT NULL",
    f"CREATE INDEX {CONTRACT_INDEX} ON {TABLE} (contract_id) WHERE contract_id IS NOT NULL",
)
CONTRACT_FULL = f"CREATE INDEX {CONTRACT_INDEX} ON {TABLE} (contract_id)"


def _rebuild_sqlite(old: str, new: str, *, leave_out: tuple[str, ...]) -> None:
    """Re-create the ledger with `old` (text of its stored CREATE TABLE) replaced by `new`,
    keeping its rows, and its indexes and triggers but those named in `leave_out`."""
    conn = op.get_bind()
    ddl = conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?",
                               (TABLE,)).scalar_one()
    if ddl.count(old) != 1:
        raise RuntimeError(f"the {TABLE} table is not as this revision expects: {old!r} not found once")
    keep = [sql for (name, sql) in conn.exec_driver_sql(
        "SELECT name, sql FROM sqlite_master WHERE tbl_name = ? AND type IN ('index', 'trigger') "
        "AND sql IS NOT NULL ORDER BY type, rowid", (TABLE,)) if name not in leave_out]
    columns = ", ".join(f'"{row[1]}"' for row in conn.exec_driver_sql(f"PRAGMA table_info({TABLE})"))
    holding = f"swp_rebuild_{TABLE}"
    conn.exec_driver_sql("PRAGMA defer_foreign_keys = ON")
    conn.exec_driver_sql(f"CREATE TEMP TABLE {holding} AS SELECT * FROM {TABLE}")
    conn.exec_driver_sql(f"DROP TABLE {TABLE}")
    conn.exec_driver_sql(ddl.replace(old, new))
    conn.exec_driver_sql(f"INSERT INTO {TABLE} ({columns}) SELECT {columns} FROM temp.{holding} "
                         "ORDER BY id")
    conn.exec_driver_sql(f"DROP TABLE temp.{holding}")
    for sql in keep:
        conn.exec_driver_sql(sql)


def _postgres_reverses_constraint() -> str | None:
    return op.get_bind().exec_driver_sql(
        "SELECT c.conname FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid "
        "AND a.attnum = ANY (c.conkey) WHERE c.conrelid = 'ledger_entry'::regclass AND c.contype = 'u' "
        "AND a.attname = 'reverses' AND array_length(c.conkey, 1) = 1").scalar()


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        name = _postgres_reverses_constraint()
        if name is not None:
            op.execute(f'ALTER TABLE {TABLE} DROP CONSTRAINT "{name}"')
        op.execute(f"DROP INDEX IF EXISTS {CONTRACT_INDEX}")
    else:
        _rebuild_sqlite(UNIQUE_REVERSES, "", leave_out=(CONTRACT_INDEX,))
    for sql in PARTIAL:
        op.execute(sql)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP INDEX IF EXISTS {REVERSES_INDEX}")
        op.execute(f"DROP INDEX IF EXISTS {CONTRACT_INDEX}")
        op.execute(f"ALTER TABLE {TABLE} ADD CONSTRAINT ledger_entry_reverses_key UNIQUE (reverses)")
    else:
        _rebuild_sqlite(UNIQUE_REF, UNIQUE_REF + UNIQUE_REVERSES, leave_out=(REVERSES_INDEX, CONTRACT_INDEX))
    op.execute(CONTRACT_FULL)
