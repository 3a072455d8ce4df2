"""Shared code for revisions from 0020 on (older revisions are frozen snapshots and keep
their own copies).

`rebuild_sqlite_table`: SQLite cannot alter a constraint, so a table whose CHECK changes is
rebuilt as revision 0018 first did it. Not with Alembic's batch mode: it renames a new table
over the old one, which SQLite refuses while another table's trigger names the table
(vote_open_only names proposal), and with foreign keys on (swp migrates inside one
transaction, where they cannot be switched off) dropping a table that other rows refer to
leaves a violation the rename never clears. Instead the rows are kept in a temporary table,
the table is dropped and created again under its own name from its stored CREATE TABLE with
only the given text changed (so every column any revision added stays), the rows go back
(which clears the deferred foreign-key count), and every index and trigger the table had,
whichever revision made it, is created again from its stored SQL.
"""

from __future__ import annotations

from alembic import op


def rebuild_sqlite_table(table: str, old: str, new: str) -> None:
    """Re-create `table` with `old` (text found once in its stored CREATE TABLE) replaced by
    `new`, keeping its rows, indexes and triggers."""
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
    for sql in keep:
        conn.exec_driver_sql(sql)


def widen_check(table: str, name: str, column: str, old_values: str, new_values: str) -> None:
    """Replace the named CHECK constraint `column IN (old_values)` of `table` by
    `column IN (new_values)`: PostgreSQL drops and adds it (its triggers stay); SQLite rebuilds
    the table (`rebuild_sqlite_table`), keeping its rows, indexes and triggers."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
        op.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} CHECK ({column} IN ({new_values}))")
    else:
        rebuild_sqlite_table(table, f"CHECK ({column} IN ({old_values}))",
                             f"CHECK ({column} IN ({new_values}))")
