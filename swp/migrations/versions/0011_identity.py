"""Identity: member keys, signed audit events, the sandbox flag and login-role bindings.

Revision ID: 0011
Revises: 0013
"""

import uuid

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0012'
branch_labels = None
depends_on = None

APPEND_ONLY = ()  # no table of its own is append-only; its triggers are these:
POSTGRES_ONLY = ("audit_event_bound_role", "member_login_no_truncate")
AUDIT_COLUMNS = ("action", "payload", "key_fingerprint", "signature", "real_at", "db_role")

# (name, table, event, condition, message): the same SQL over NEW/OLD on both dialects
CONDITIONAL = (
    # a sandbox stays a sandbox, a real practice stays real, and the practice keeps its id
    ("practice_identity_fixed", "practice", "UPDATE",
     "NEW.sandbox <> OLD.sandbox OR NEW.uid <> OLD.uid"
     " OR COALESCE(NEW.sandbox_seed, '') <> COALESCE(OLD.sandbox_seed, '')",
     "a practice is a sandbox or not for ever, and keeps its id"),
    # the date of an act never goes back behind the last event's: by the real clock always,
    # and by the date the act is recorded on too, except in a sandbox (where SWP_TODAY may
    # rehearse an earlier day)
    ("audit_event_date_order", "audit_event", "INSERT",
     "NEW.real_at IS NOT NULL AND (substr(NEW.real_at, 1, 10) < COALESCE((SELECT substr(e.real_at, 1, 10)"
     " FROM audit_event e ORDER BY e.seq DESC LIMIT 1), '')"
     " OR (NOT COALESCE((SELECT p.sandbox FROM practice p LIMIT 1), FALSE)"
     " AND substr(NEW.at, 1, 10) < COALESCE((SELECT substr(e.at, 1, 10)"
     " FROM audit_event e ORDER BY e.seq DESC LIMIT 1), '')))",
     "the date of an act cannot go back behind the last event"),
)


def upgrade() -> None:
    # plain ADD COLUMN on both dialects: a batch rebuild on SQLite would drop the tables' triggers
    op.add_column('practice', sa.Column('uid', sa.String(), nullable=True))
    op.add_column('practice', sa.Column('sandbox', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column('practice', sa.Column('sandbox_seed', sa.String(), nullable=True))
    op.execute(f"UPDATE practice SET uid = '{uuid.uuid4().hex}' WHERE uid IS NULL")
    op.add_column('member', sa.Column('public_key', sa.String(), nullable=True))
    op.add_column('member', sa.Column('key_fingerprint', sa.String(), nullable=True))
    for name in AUDIT_COLUMNS:
        op.add_column('audit_event', sa.Column(name, sa.String(), nullable=True))
    op.create_table(
        'member_login',
        sa.Column('role', sa.String(), nullable=False),
        sa.Column('handle', sa.String(), nullable=False),
        sa.PrimaryKeyConstraint('role'),
    )
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for name, table, event, condition, message in CONDITIONAL:
            op.execute(
                f"CREATE FUNCTION swp_guard_{name}() RETURNS trigger LANGUAGE plpgsql AS $$ "
                f"BEGIN IF {condition} THEN RAISE EXCEPTION '{message}' USING ERRCODE = 'integrity_constraint_violation'; "
                f"END IF; RETURN NEW; END $$")
            op.execute(f"CREATE TRIGGER {name} BEFORE {event} ON {table} "
                       f"FOR EACH ROW EXECUTE FUNCTION swp_guard_{name}()")
        # a login role bound to a member may append only that member's events, and records itself
        op.execute(
            "CREATE FUNCTION swp_guard_audit_event_bound_role() RETURNS trigger LANGUAGE plpgsql "
            "SECURITY DEFINER AS $$ DECLARE bound text; BEGIN "
            "SELECT handle INTO bound FROM member_login WHERE role = session_user; "
            "IF bound IS NOT NULL AND NEW.actor IS DISTINCT FROM bound THEN "
            "RAISE EXCEPTION 'the login role % is bound to member %, not %', session_user, bound, "
            "COALESCE(NEW.actor, 'nobody') USING ERRCODE = 'integrity_constraint_violation'; END IF; "
            # the database's owner (who runs migrations and `swp db copy`, and could drop this
            # trigger anyway) keeps the role a copied event records; anyone else is recorded
            "IF NEW.real_at IS NOT NULL AND session_user <> (SELECT pg_get_userbyid(d.datdba) "
            "FROM pg_database d WHERE d.datname = current_database()) "
            "THEN NEW.db_role := session_user; END IF; "
            "RETURN NEW; END $$")
        op.execute("CREATE TRIGGER audit_event_bound_role BEFORE INSERT ON audit_event "
                   "FOR EACH ROW EXECUTE FUNCTION swp_guard_audit_event_bound_role()")
        op.execute("CREATE TRIGGER member_login_no_truncate BEFORE TRUNCATE ON member_login "
                   "FOR EACH STATEMENT EXECUTE FUNCTION swp_refuse_change('rows are never deleted')")
    else:
        for name, table, event, condition, message in CONDITIONAL:
            op.execute(f"CREATE TRIGGER {name} BEFORE {event} ON {table} WHEN {condition} "
                       f"BEGIN SELECT RAISE(ABORT, '{message}'); END")


def downgrade() -> None:
    bind = op.get_bind()
    names = [(n, t) for n, t, *_ in CONDITIONAL]
    if bind.dialect.name == "postgresql":
        names.append(("audit_event_bound_role", "audit_event"))
        for name, table in names:
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS swp_guard_{name}()")
    else:
        for name, _table in names:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table('member_login')
    with op.batch_alter_table('audit_event') as batch:
        for name in AUDIT_COLUMNS:
            batch.drop_column(name)
    with op.batch_alter_table('member') as batch:
        batch.drop_column('key_fingerprint')
        batch.drop_column('public_key')
    with op.batch_alter_table('practice') as batch:
        batch.drop_column('sandbox_seed')
        batch.drop_column('sandbox')
        batch.drop_column('uid')
