"""Closed sharing periods, their allocations, and the profit shares paid out of them."""

from datetime import date, datetime

from sqlalchemy import CheckConstraint, UniqueConstraint
from sqlmodel import Field

import swp.models.member  # noqa: F401 - the tables its foreign keys name
from swp.models.base import TableModel, pence


class Period(TableModel, table=True):
    """A closed sharing period. Append-only: once closed it is locked."""

    __tablename__ = "period"
    __table_args__ = (CheckConstraint("start <= \"end\"", name="period_dates"),)
    id: int | None = Field(default=None, primary_key=True)
    label: str = Field(unique=True)
    start: date
    end: date
    income_pence: int = pence()
    expenses_pence: int = pence()
    net_pence: int = pence()
    reserve_pence: int = pence()  # added to the reserve (surplus) or drawn from it (negative, deficit)
    distributable_pence: int = pence()  # shared among members; negative for a deficit share
    method: str
    fingerprint: str
    closed_at: datetime
    closed_by: str | None = None
    # the highest deficit_settlement.id the close counted (0: none was recorded yet): what a
    # member brings in is less every settlement and write-off recorded before the close, and no
    # later one. NULL for a period closed before swp recorded it: that close counted what was
    # dated by the period's last day (see swp.services.sharing.workout.counted_by)
    settlements_upto: int | None = None


class Allocation(TableModel, table=True):
    """One member's allocation in a closed period. Append-only."""

    __tablename__ = "allocation"
    __table_args__ = (UniqueConstraint("period_id", "member_id", name="one_allocation"),)
    id: int | None = Field(default=None, primary_key=True)
    period_id: int = Field(foreign_key="period.id", index=True)
    member_id: int = Field(foreign_key="member.id")
    amount_pence: int = pence()  # share of the distributable pool (negative: share of a deficit)
    carried_in_pence: int = pence(0)  # deficit brought forward and set against this allocation (<= 0)
    payable_pence: int = pence(0)  # what is paid out now (>= 0)
    carried_out_pence: int = pence(0)  # deficit still owed after this period (<= 0)
    basis: str = "{}"  # JSON: days, hours, pay, service and weights as used


class ProfitPayment(TableModel, table=True):
    """A member's payable profit share of a closed period, paid (it leaves the bank). Append-only."""

    __tablename__ = "profit_payment"
    __table_args__ = (UniqueConstraint("period_id", "member_id", name="one_profit_payment"),
                      CheckConstraint("amount_pence > 0", name="profit_payment_positive"))
    id: int | None = Field(default=None, primary_key=True)
    period_id: int = Field(foreign_key="period.id")
    member_id: int = Field(foreign_key="member.id")
    amount_pence: int = pence()
    paid_on: date
    recorded_at: datetime
