"""Costs shared with partners, and loans."""

from datetime import date

from sqlalchemy import CheckConstraint
from sqlmodel import Field

import swp.models.ledger  # noqa: F401 - the tables its foreign keys name
from swp.models.base import TableModel, pence


class SharedCost(TableModel, table=True):
    """A cost shared with a partner: the practice's part is a ledger expense."""

    __tablename__ = "shared_cost"
    __table_args__ = (
        CheckConstraint("our_percent >= 0 AND our_percent <= 100", name="our_percent_range"),
    )
    id: int | None = Field(default=None, primary_key=True)
    entry_id: int | None = Field(default=None, foreign_key="ledger_entry.id", index=True)
    partner_id: int = Field(foreign_key="partner.id")
    date: date
    total_pence: int = pence()
    our_percent: int
    our_pence: int = pence()
    partner_pence: int = pence()
    memo: str | None = None


class Loan(TableModel, table=True):
    """Borrowed money: a liability, never income, never with control rights."""

    __tablename__ = "loan"
    __table_args__ = (CheckConstraint("amount_pence > 0", name="loan_positive"),)
    id: int | None = Field(default=None, primary_key=True)
    lender: str
    amount_pence: int = pence()
    date: date
    rate_basis_points: int | None = None  # 4.5% -> 450
    entry_id: int | None = Field(default=None, foreign_key="ledger_entry.id", index=True)
