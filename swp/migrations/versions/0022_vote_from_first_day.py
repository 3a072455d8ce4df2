"""The database refuses a vote cast before the voter's membership began, as it refused one cast
after they left: a member is a member from their first day of employment (`employed_since`)
through their last. The trigger `vote_members_only` is made again with both conditions.

Revision ID: 0022
Revises: 0021
"""

from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

NAME = "vote_members_only"
BEFORE = ("EXISTS (SELECT 1 FROM member m WHERE m.id = NEW.member_id AND m.left_on IS NOT NULL"
          " AND m.left_on < NEW.cast_on)", "one-member-one-vote: a former member has no vote")
NOW = ("EXISTS (SELECT 1 FROM member m WHERE m.id = NEW.member_id AND ((m.left_on IS NOT NULL"
       " AND m.left_on < NEW.cast_on) OR m.employed_since > NEW.cast_on))",
       "one-member-one-vote: a former member, or one whose membership has not begun, has no vote")


def _make(condition: str, message: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {NAME} ON vote")
        op.execute(
            f"CREATE OR REPLACE FUNCTION swp_guard_{NAME}() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN IF {condition} THEN RAISE EXCEPTION '{message}' USING ERRCODE = 'integrity_constraint_violation'; "
            "END IF; RETURN NEW; END $$")
        op.execute(f"CREATE TRIGGER {NAME} BEFORE INSERT ON vote FOR EACH ROW EXECUTE FUNCTION swp_guard_{NAME}()")
    else:
        op.execute(f"DROP TRIGGER IF EXISTS {NAME}")
        op.execute(f"CREATE TRIGGER {NAME} BEFORE INSERT ON vote WHEN {condition} "
                   f"BEGIN SELECT RAISE(ABORT, '{message}'); END")


def upgrade() -> None:
    _make(*NOW)


def downgrade() -> None:
    _make(*BEFORE)
