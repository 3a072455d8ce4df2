"""Meetings, their agendas and attendance, annual-return filings, members' postal and
electronic addresses, written resolutions, and the clauses that hold the statutory numbers.

Revision ID: 0015
Revises: 0001
"""

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision = "0015"
down_revision = "0001"
branch_labels = None
depends_on = None

# the clauses this revision adds, with their defaults (swp.rules holds the same); a practice
# founded before gets them with the defaults, one founded after gets them from `swp init`
CLAUSES = (
    ("meetings.notice-days", "14"),
    ("meetings.first-agm-months", "18"),
    ("meetings.agm-interval-months", "15"),
    ("governance.written-days", "28"),
    ("reporting.annual-return-months", "7"),
)

APPEND_ONLY = ("attendance", "filing")
NO_DELETE = ("meeting", "meeting_item")
CONDITIONAL = (
    ("meeting_closed_final", "meeting", "UPDATE", "OLD.status = 'closed'",
     "a closed meeting and its minutes cannot be changed"),
    ("meeting_item_closed_final", "meeting_item", "UPDATE",
     "EXISTS (SELECT 1 FROM meeting m WHERE m.id = OLD.meeting_id AND m.status = 'closed')",
     "a closed meeting and its minutes cannot be changed"),
)


def upgrade() -> None:
    op.create_table(
        "meeting",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("place", sa.String(), nullable=False),
        sa.Column("online", sa.String(), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("called_by", sa.String(), nullable=True),
        sa.Column("called_on", sa.Date(), nullable=False),
        sa.Column("called_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("notice_given_on", sa.Date(), nullable=True),
        sa.Column("opened_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("closed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("members", sa.Integer(), nullable=True),
        sa.Column("quorum_needed", sa.Integer(), nullable=True),
        sa.Column("audit_seq", sa.Integer(), nullable=True),
        sa.Column("audit_head", sa.String(), nullable=True),
        sa.CheckConstraint("kind IN ('agm', 'general')", name="meeting_kind"),
        sa.CheckConstraint("status IN ('called', 'open', 'closed')", name="meeting_status"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "meeting_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), sa.ForeignKey("meeting.id"), nullable=False),
        sa.Column("proposal_id", sa.Integer(), sa.ForeignKey("proposal.id"), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("decision", sa.String(), nullable=True),
        sa.Column("reason", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("meeting_id", "proposal_id", name="one_item_per_proposal"),
    )
    op.create_index("ix_meeting_item_meeting_id", "meeting_item", ["meeting_id"])
    op.create_table(
        "attendance",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), sa.ForeignKey("meeting.id"), nullable=False),
        sa.Column("member_id", sa.Integer(), sa.ForeignKey("member.id"), nullable=False),
        sa.Column("mode", sa.String(), nullable=False),
        sa.Column("recorded_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.CheckConstraint("mode IN ('person', 'online')", name="attendance_mode"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("meeting_id", "member_id", name="one_attendance"),
    )
    op.create_table(
        "filing",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("year_end", sa.Date(), nullable=False),
        sa.Column("filed_on", sa.Date(), nullable=False),
        sa.Column("recorded_by", sa.String(), nullable=True),
        sa.Column("recorded_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.CheckConstraint("kind IN ('annual-return')", name="filing_kind"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "year_end", name="one_filing_per_year"),
    )
    with op.batch_alter_table("member") as batch:
        batch.add_column(sa.Column("address", sa.String(), nullable=True))
        batch.add_column(sa.Column("email", sa.String(), nullable=True))
        batch.add_column(sa.Column("email_purposes", sa.String(), nullable=True))
    with op.batch_alter_table("proposal") as batch:
        batch.add_column(sa.Column("written", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("lapses_on", sa.Date(), nullable=True))
    # an existing practice gets the new clauses with their defaults (a new one: from init)
    for name, value in CLAUSES:  # constants of this file: no user text in this SQL
        op.execute(
            f"INSERT INTO clause (name, value, entrenched, changed_by) "
            f"SELECT '{name}', '{value}', (1 = 0), 'special' WHERE EXISTS (SELECT 1 FROM practice) "
            f"AND NOT EXISTS (SELECT 1 FROM clause WHERE name = '{name}')"
        )
    _create_guards()


def downgrade() -> None:
    _drop_guards()
    for name, _ in CLAUSES:
        op.execute(f"DELETE FROM clause WHERE name = '{name}'")
    with op.batch_alter_table("proposal") as batch:
        batch.drop_column("lapses_on")
        batch.drop_column("written")
    with op.batch_alter_table("member") as batch:
        batch.drop_column("email_purposes")
        batch.drop_column("email")
        batch.drop_column("address")
    op.drop_table("filing")
    op.drop_table("attendance")
    op.drop_index("ix_meeting_item_meeting_id", table_name="meeting_item")
    op.drop_table("meeting_item")
    op.drop_table("meeting")


def _create_guards() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table in APPEND_ONLY:
        for event in ("UPDATE", "DELETE"):
            name = f"{table}_append_only_{event.lower()}"
            op.execute(
                f"CREATE TRIGGER {name} BEFORE {event} ON {table} "
                + ("FOR EACH ROW EXECUTE FUNCTION swp_refuse_change('is append-only')" if postgresql
                   else f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END")
            )
    for table in NO_DELETE:
        op.execute(
            f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
            + ("FOR EACH ROW EXECUTE FUNCTION swp_refuse_change('rows are never deleted')" if postgresql
               else f"BEGIN SELECT RAISE(ABORT, '{table} rows are never deleted'); END")
        )
    if postgresql:
        for table in (*APPEND_ONLY, *NO_DELETE):
            message = "is append-only" if table in APPEND_ONLY else "rows are never deleted"
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION swp_refuse_change('{message}')"
            )
    for name, table, event, condition, message in CONDITIONAL:
        if postgresql:
            row = "OLD" if event == "DELETE" else "NEW"
            op.execute(
                f"CREATE FUNCTION swp_guard_{name}() RETURNS trigger LANGUAGE plpgsql AS $$ "
                f"BEGIN IF {condition} THEN RAISE EXCEPTION '{message}' USING ERRCODE = 'integrity_constraint_violation'; "
                f"END IF; RETURN {row}; END $$"
            )
            op.execute(f"CREATE TRIGGER {name} BEFORE {event} ON {table} "
                       f"FOR EACH ROW EXECUTE FUNCTION swp_guard_{name}()")
        else:
            op.execute(f"CREATE TRIGGER {name} BEFORE {event} ON {table} WHEN {condition} "
                       f"BEGIN SELECT RAISE(ABORT, '{message}'); END")


def _drop_guards() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    names = [(f"{t}_append_only_{e.lower()}", t) for t in APPEND_ONLY for e in ("UPDATE", "DELETE")]
    names += [(f"{t}_no_delete", t) for t in NO_DELETE]
    names += [(n, t) for n, t, *_ in CONDITIONAL]
    if postgresql:
        names += [(f"{t}_no_truncate", t) for t in (*APPEND_ONLY, *NO_DELETE)]
    for name, table in names:
        if postgresql:
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS swp_guard_{name}()")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
