"""Bank files, reconciliation and payroll: links between bank lines and hand entries, balance
assertions, payroll ids, share payments and settled deficits.

Revision ID: 0013
Revises: 0001
"""

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision = "0013"
down_revision = "0016"
branch_labels = None
depends_on = None

APPEND_ONLY = ("bank_link", "balance_assertion", "profit_payment", "deficit_settlement")


def upgrade() -> None:
    op.create_table(
        "bank_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("identity", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("line_date", sa.Date(), nullable=False),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("linked_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["entry_id"], ["ledger_entry.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("identity"),
        sa.UniqueConstraint("entry_id"),
    )
    op.create_table(
        "balance_assertion",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("balance_pence", sa.BigInteger(), nullable=False),
        sa.Column("recorded_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("recorded_by", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "profit_payment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("amount_pence", sa.BigInteger(), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=False),
        sa.Column("recorded_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.CheckConstraint("amount_pence > 0", name="profit_payment_positive"),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"]),
        sa.ForeignKeyConstraint(["period_id"], ["period.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("period_id", "member_id", name="one_profit_payment"),
    )
    op.create_table(
        "deficit_settlement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("amount_pence", sa.BigInteger(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("settled_on", sa.Date(), nullable=False),
        sa.Column("proposal_id", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.CheckConstraint("amount_pence > 0", name="settlement_positive"),
        sa.CheckConstraint("kind IN ('settled', 'written-off')", name="settlement_kind"),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"]),
        sa.ForeignKeyConstraint(["proposal_id"], ["proposal.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("deficit_settlement") as batch_op:
        batch_op.create_index("ix_deficit_settlement_member_id", ["member_id"])
    # plain ADD COLUMN (no table rebuild), so the member table's triggers stay as they are
    op.add_column("member", sa.Column("payroll_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
    op.add_column("member", sa.Column("ni_number", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
    bind = op.get_bind()
    for table in APPEND_ONLY:
        for event in ("UPDATE", "DELETE"):
            name = f"{table}_append_only_{event.lower()}"
            if bind.dialect.name == "postgresql":
                op.execute(f"CREATE TRIGGER {name} BEFORE {event} ON {table} "
                           "FOR EACH ROW EXECUTE FUNCTION swp_refuse_change('is append-only')")
            else:
                op.execute(f"CREATE TRIGGER {name} BEFORE {event} ON {table} "
                           f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END")
        if bind.dialect.name == "postgresql":
            op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                       "FOR EACH STATEMENT EXECUTE FUNCTION swp_refuse_change('is append-only')")


def downgrade() -> None:
    bind = op.get_bind()
    for table in APPEND_ONLY:
        names = [f"{table}_append_only_update", f"{table}_append_only_delete"]
        if bind.dialect.name == "postgresql":
            names.append(f"{table}_no_truncate")
        for name in names:
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}" if bind.dialect.name == "postgresql"
                       else f"DROP TRIGGER IF EXISTS {name}")
    op.drop_column("member", "ni_number")
    op.drop_column("member", "payroll_id")
    op.drop_table("deficit_settlement")
    op.drop_table("profit_payment")
    op.drop_table("balance_assertion")
    op.drop_table("bank_link")
