"""External finance (SPEC sections 6 and 10): a plain loan is borrowed money, a liability.

A loan is recorded as a balanced ledger entry (debit the bank, credit
`liabilities:loans:<lender>`, kind `loan`, so it is never income and never shared out) and a
`loan` row with its terms. A loan that carries any control (votes, a board seat, conversion
into equity, a share of profits) is refused by the takeover guard before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, cast

from sqlalchemy import select
from sqlmodel import col

from swp import rules
from swp.errors import InputError
from swp.models import Loan
from swp.services import ledger

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


def format_rate(points: int | None) -> str:
    if points is None:
        return "-"
    whole, part = divmod(points, 100)
    return f"{whole}%" if part == 0 else f"{whole}.{part:02d}".rstrip("0") + "%"


@dataclass(frozen=True)
class LoanView:
    id: int
    entry: int | None
    lender: str
    amount_pence: int
    date: date
    rate_basis_points: int | None
    reversed_by: int | None = None  # the reversal of its entry: a loan recorded by mistake


def loan(session: Session, *, actor: str | None, lender: str, amount_pence: int, day: date,
         rate_basis_points: int | None = None, voting_rights: bool = False,
         board_seat: bool = False, equity_conversion: bool = False,
         profit_share: bool = False) -> LoanView:
    """Record a plain loan as a liability; any control right attached is refused (exit 3)."""
    rules.refuse(rules.finance_violations(voting_rights=voting_rights, board_seat=board_seat,
                                          equity_conversion=equity_conversion,
                                          profit_share=profit_share))
    lender = (lender or "").strip()
    if not lender:
        raise InputError("a loan needs its lender's name")
    entry = ledger.record(session, actor=actor, kind="loan", amount_pence=amount_pence, day=day,
                          category="loans", lender=lender, memo=f"loan from {lender}")
    row = Loan(lender=lender, amount_pence=amount_pence, date=day,
               rate_basis_points=rate_basis_points, entry_id=entry.id)
    session.add(row)
    session.flush()
    assert row.id is not None  # flushed
    return LoanView(row.id, row.entry_id, lender, amount_pence, day, rate_basis_points)


def loans(session: Session) -> list[LoanView]:
    """Every loan, with the reversal of its entry where one was recorded (`swp ledger reverse`
    undoes a loan recorded by mistake: its terms stay, as every record does, marked reversed)."""
    from sqlalchemy.orm import aliased

    from swp.models import LedgerEntry

    reversal = aliased(LedgerEntry)
    rows = session.execute(
        select(Loan, col(reversal.id))
        .outerjoin(reversal, col(reversal.reverses) == col(Loan.entry_id))
        .order_by(col(Loan.date), col(Loan.id))).all()
    return [LoanView(cast(int, r.id), r.entry_id, r.lender, r.amount_pence, r.date, r.rate_basis_points,
                     reversed_by) for r, reversed_by in rows]
