"""A lost key re-enrolled by a passed resolution: `proposal.action` may be 're-enrol'.

The resolution names the member and the new public key (`target`, `value`); closing it passed
enrols that key for the member in place of the one they lost. Widening the CHECK constraint:
PostgreSQL drops and adds it; SQLite rebuilds the table as revision 0018 does, keeping its
rows, indexes and triggers (and other tables' triggers that name it): see
swp/migrations/helpers.py.

Revision ID: 0020
Revises: 0019
"""

from alembic import op

from swp.migrations.helpers import widen_check

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

ACTIONS_BEFORE = "'amend', 'expel', 'merge', 'dissolve', 'write-off'"
ACTIONS_AFTER = "'amend', 'expel', 'merge', 'dissolve', 'write-off', 're-enrol'"


def upgrade() -> None:
    widen_check("proposal", "proposal_action", "action", ACTIONS_BEFORE, ACTIONS_AFTER)


def downgrade() -> None:
    found = op.get_bind().exec_driver_sql(
        "SELECT count(*) FROM proposal WHERE action = 're-enrol'").scalar_one()
    if found:
        raise RuntimeError(f"{found} proposal(s) re-enrol a member's key: an older schema cannot "
                           "hold them, so this revision cannot be undone")
    widen_check("proposal", "proposal_action", "action", ACTIONS_AFTER, ACTIONS_BEFORE)
