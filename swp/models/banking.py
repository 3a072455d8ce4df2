"""What links the books to the bank: imported lines and the bank's balances."""

from datetime import date, datetime

from sqlmodel import Field

import swp.models.ledger  # noqa: F401 - the tables its foreign keys name
from swp.models.base import TableModel, pence


class BankLink(TableModel, table=True):
    """A bank line matched to an entry entered by hand (so importing it adds nothing). Append-only."""

    __tablename__ = "bank_link"
    id: int | None = Field(default=None, primary_key=True)
    identity: str = Field(unique=True)  # the bank line's stable identity
    entry_id: int = Field(foreign_key="ledger_entry.id", unique=True)
    line_date: date
    description: str | None = None
    linked_at: datetime


class BalanceAssertion(TableModel, table=True):
    """The bank's balance at the end of a day, as the manager read it; `swp check` keeps checking it."""

    __tablename__ = "balance_assertion"
    id: int | None = Field(default=None, primary_key=True)
    date: date
    balance_pence: int = pence()
    recorded_at: datetime
    recorded_by: str | None = None
