"""What each close counted of the deficits settled or written off: `period.settlements_upto`.

A close takes off what a member brings in everything settled or written off that was recorded
before it, whatever the day the settlement is dated: the close records the highest
`deficit_settlement.id` it counted (0 when there was none), so that what it counted is kept
rather than inferred from dates (in a sandbox every moment of a day is noon, so a settlement
and a close of the same day cannot be told apart by when they were recorded). Ids follow the
order of commits because swp's writers take turns (SQLite's write lock, PostgreSQL's LOCK TABLE
practice). Periods closed before this revision keep NULL: they counted what was dated by their
last day, and still do.

A plain ADD COLUMN (no table rebuild), so the period table's triggers stay as they are; the
same statement on SQLite and PostgreSQL. Upgraded again after it was undone, a period takes
back what its close's signed event says it counted. Signed events written before it record period rows
without the column: `swp check` reads a column an event does not name as NULL.

Revision ID: 0024
Revises: 0023
"""

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("period", sa.Column("settlements_upto", sa.Integer(), nullable=True))
    _restore()


def _restore() -> None:
    """A practice upgraded again after this revision was undone: each close made while it
    stood recorded what it counted in its signed event (`period.closed`), which the period
    takes back; a close from before it records nothing, and its period stays NULL."""
    import json

    bind = op.get_bind()
    found: dict[int, tuple[str, int]] = {}
    for (payload,) in bind.exec_driver_sql(
            "SELECT payload FROM audit_event WHERE action = 'period.closed' AND outcome = 'ok' "
            "ORDER BY seq"):
        for name, body in json.loads(payload or "[]"):
            if name == "period.closed" and isinstance(body.get("settlements_upto"), int):
                found[int(body["id"])] = (str(body["label"]), int(body["settlements_upto"]))
    if not found:
        return
    guard = "period_append_only_update"  # the period table's guard, lifted for these rows only
    if bind.dialect.name == "postgresql":
        op.execute(f"ALTER TABLE period DISABLE TRIGGER {guard}")
    else:
        sql = bind.exec_driver_sql(f"SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = '{guard}'"
                                   ).scalar_one_or_none()
        op.execute(f"DROP TRIGGER IF EXISTS {guard}")
    for period_id, (label, mark) in sorted(found.items()):
        bind.execute(sa.text("UPDATE period SET settlements_upto = :mark WHERE id = :id AND label = :label"),
                     {"mark": mark, "id": period_id, "label": label})
    if bind.dialect.name == "postgresql":
        op.execute(f"ALTER TABLE period ENABLE TRIGGER {guard}")
    elif sql is not None:
        op.execute(sql)


def downgrade() -> None:
    # an older swp reads every period by date: undone only while that reads each close as it
    # counted (no settlement was recorded before a close and dated after its period, or after
    # a close and dated inside its period)
    found = op.get_bind().exec_driver_sql(
        'SELECT count(*) FROM period p JOIN deficit_settlement s '
        'ON (s.id <= p.settlements_upto) <> (s.settled_on <= p."end") '
        'WHERE p.settlements_upto IS NOT NULL').scalar_one()
    if found:
        raise RuntimeError(f"{found} deficit settlement(s) count in a period other than the one their "
                           "date falls in (recorded before a close, dated after its period): an older "
                           "schema cannot say so, so this revision cannot be undone")
    op.drop_column("period", "settlements_upto")
