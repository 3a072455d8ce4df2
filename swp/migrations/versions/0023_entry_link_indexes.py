"""An index on each foreign key into the ledger that had none: `loan.entry_id` and
`shared_cost.entry_id`.

Without them, a lookup of a loan or a shared cost by its entry reads the whole table, and so
does the database's check of those foreign keys for every ledger row removed (a rebuild of
`ledger_entry`, as revisions 0019 and 0021 do on SQLite, removes them all; those revisions run
before this one). Plain indexes, not unique ones: swp writes one loan or one shared cost with
each entry it makes for it, but no rule of the practice says that an entry has at most one, and
this revision adds no refusal. The other references into the ledger were indexed already
(`bank_link.entry_id` is unique, `ledger_entry.reverses` has its partial index). The same
statements on SQLite and PostgreSQL.

Revision ID: 0023
Revises: 0022
"""

from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

INDEXES = (("ix_loan_entry_id", "loan"), ("ix_shared_cost_entry_id", "shared_cost"))


def upgrade() -> None:
    for name, table in INDEXES:
        op.execute(f"CREATE INDEX {name} ON {table} (entry_id)")


def downgrade() -> None:
    for name, _ in INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
