"""The guard's blind spots: proposals immutable once made and dated, a merger partner's or a
recipient's register, practitioners registered, the local authority and partner splits only
by resolution.

Revision ID: 0012
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0013"
branch_labels = None
depends_on = None

# a registration number in its published form: SW followed by digits (both dialects)
_REGISTERED = ("substr({r}, 1, 2) = 'SW' AND length({r}) > 2 "
               "AND ltrim(substr({r}, 3), '0123456789') = ''")


def _differs(dialect: str, column: str) -> str:
    if dialect == "postgresql":
        return f"NEW.{column} IS DISTINCT FROM OLD.{column}"
    return f"NOT (NEW.{column} IS OLD.{column})"


PROPOSAL_FIELDS = ("title", "kind", "action", "clause", "value", "target", "target_kind",
                   "proposed_by", "created_at", "proposed_on", "target_register")


def guards(dialect: str) -> list[tuple[str, str, str, str, str]]:
    """(name, table, event, condition, message), as in the first schema's CONDITIONAL."""
    changed = " OR ".join(_differs(dialect, c) for c in PROPOSAL_FIELDS)
    # what the first schema's proposal triggers refuse, they refuse with their own message
    theirs = ("(NEW.action = 'amend' AND EXISTS (SELECT 1 FROM clause c WHERE c.name = "
              "NEW.clause AND c.entrenched)) OR (NEW.action IN ('merge', 'dissolve') AND "
              "(NEW.target_kind IS NULL OR NEW.target_kind NOT IN ('mutual', 'charity', 'cic')))")
    return [
        # a proposal is what the members voted on: nothing of it changes once made
        ("proposal_immutable", "proposal", "UPDATE", f"({changed}) AND NOT ({theirs})",
         "a proposal cannot be changed once made"),
        # a proposal is made open; only closing it records a result
        ("proposal_made_open", "proposal", "INSERT",
         "NEW.status <> 'open' OR NEW.closed_on IS NOT NULL",
         "a proposal is made open; only a close records its result"),
        # a merger partner or a recipient of assets names its register and number
        ("proposal_body_register", "proposal", "INSERT",
         f"NEW.action IN ('merge', 'dissolve') AND NEW.target_register IS NULL AND NOT ({theirs})",
         "no-demutualisation and asset-lock: name the register and number of the other body"),
        # a practitioner holds a registration in its published form
        ("member_fact_practitioner_registered", "member_fact", "INSERT",
         "NEW.role = 'practitioner' AND NOT EXISTS (SELECT 1 FROM member m WHERE m.id = "
         "NEW.member_id AND m.registration IS NOT NULL AND "
         + _REGISTERED.format(r="m.registration") + ")",
         "frontline-majority: a practitioner needs a registration (SW and digits)"),
        ("member_registration_unique_insert", "member", "INSERT",
         "NEW.registration IS NOT NULL AND EXISTS (SELECT 1 FROM member m WHERE "
         "m.registration = NEW.registration AND m.left_on IS NULL)",
         "frontline-majority: a registration belongs to one member"),
        ("member_registration_unique_update", "member", "UPDATE",
         "NEW.registration IS NOT NULL AND EXISTS (SELECT 1 FROM member m WHERE "
         "m.registration = NEW.registration AND m.left_on IS NULL AND m.id <> NEW.id)",
         "frontline-majority: a registration belongs to one member"),
        # the local authority changes only by a passed special resolution naming it
        ("practice_local_authority", "practice", "UPDATE",
         "NEW.local_authority <> OLD.local_authority AND NOT EXISTS (SELECT 1 FROM proposal p "
         "WHERE p.action = 'amend' AND p.clause = 'practice.local-authority' AND p.status = "
         "'passed' AND p.kind = 'special' AND p.value = NEW.local_authority)",
         "contracts.own-authority-only: the local authority changes only by special resolution"),
        # a shared cost puts on the practice no more than the part agreed by resolution
        ("shared_cost_agreed_split", "shared_cost", "INSERT",
         "NEW.our_percent > COALESCE((SELECT CAST(p.value AS INTEGER) FROM proposal p, partner pa "
         "WHERE pa.id = NEW.partner_id AND p.target = pa.name AND p.action = 'amend' AND "
         "p.clause = 'partner.split' AND p.status = 'passed' ORDER BY p.id DESC LIMIT 1), -1)",
         "asset-lock: a partner split is agreed by resolution; no more than that part"),
    ]


def upgrade() -> None:
    with op.batch_alter_table("proposal") as batch:
        batch.add_column(sa.Column("proposed_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("target_register", sa.String(), nullable=True))
    # a practice made before the notice period: the clause at its default
    op.execute("INSERT INTO clause (name, value, entrenched, changed_by) SELECT "
               "'governance.notice-days', '14', false, 'special' WHERE EXISTS (SELECT 1 FROM "
               "practice) AND NOT EXISTS (SELECT 1 FROM clause WHERE name = "
               "'governance.notice-days')")
    dialect = op.get_bind().dialect.name
    for name, table, event, condition, message in guards(dialect):
        if dialect == "postgresql":
            row = "OLD" if event == "DELETE" else "NEW"
            op.execute(
                f"CREATE FUNCTION swp_guard_{name}() RETURNS trigger LANGUAGE plpgsql AS $$ "
                f"BEGIN IF {condition} THEN RAISE EXCEPTION '{message}' USING ERRCODE = "
                f"'integrity_constraint_violation'; END IF; RETURN {row}; END $$")
            op.execute(f"CREATE TRIGGER {name} BEFORE {event} ON {table} "
                       f"FOR EACH ROW EXECUTE FUNCTION swp_guard_{name}()")
        else:
            op.execute(f"CREATE TRIGGER {name} BEFORE {event} ON {table} WHEN {condition} "
                       f"BEGIN SELECT RAISE(ABORT, '{message}'); END")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for name, table, *_ in guards(dialect):
        if dialect == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS swp_guard_{name}()")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    with op.batch_alter_table("proposal") as batch:
        batch.drop_column("target_register")
        batch.drop_column("proposed_on")
