"""The ledger's check of an entry's kind, written as comparisons rather than an IN list.

`kind IN ('income', 'expense', 'loan', 'share-payment', 'settlement')` and `kind = 'income' OR
kind = 'expense' OR ...` accept and refuse exactly the same rows, but SQLite (3.40 here) builds
the IN list again for every row it checks: on an import that was half of the time SQLite spent
inserting each row. SQLite cannot alter a constraint, so the table is rebuilt as revision 0018
does, keeping its rows, indexes and triggers (see swp/migrations/helpers.py); PostgreSQL
evaluates the list without that cost, and drops and adds the constraint so that both keep the
same text.

Revision ID: 0021
Revises: 0020
"""

from alembic import op

from swp.migrations.helpers import rebuild_sqlite_table

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

KINDS = ("income", "expense", "loan", "share-payment", "settlement")
AS_LIST = "kind IN (" + ", ".join(f"'{k}'" for k in KINDS) + ")"
AS_COMPARISONS = " OR ".join(f"kind = '{k}'" for k in KINDS)


def _replace(old: str, new: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE ledger_entry DROP CONSTRAINT entry_kind")
        op.execute(f"ALTER TABLE ledger_entry ADD CONSTRAINT entry_kind CHECK ({new})")
    else:
        rebuild_sqlite_table("ledger_entry", f"CHECK ({old})", f"CHECK ({new})")


def upgrade() -> None:
    _replace(AS_LIST, AS_COMPARISONS)


def downgrade() -> None:
    _replace(AS_COMPARISONS, AS_LIST)
