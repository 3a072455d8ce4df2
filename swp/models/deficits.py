"""Settlements of a former member's deficit: paid in, or written off by resolution."""

from datetime import date, datetime

from sqlalchemy import CheckConstraint
from sqlmodel import Field

import swp.models.governance  # noqa: F401 - the tables its foreign keys name
import swp.models.member  # noqa: F401 - the tables its foreign keys name
from swp.models.base import TableModel, pence


class DeficitSettlement(TableModel, table=True):
    """Part of a former member's outstanding deficit, paid in or written off. Append-only."""

    __tablename__ = "deficit_settlement"
    __table_args__ = (CheckConstraint("amount_pence > 0", name="settlement_positive"),
                      CheckConstraint("kind IN ('settled', 'written-off')", name="settlement_kind"))
    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    amount_pence: int = pence()
    kind: str
    settled_on: date
    proposal_id: int | None = Field(default=None, foreign_key="proposal.id")
    recorded_at: datetime
