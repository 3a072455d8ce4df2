"""The books: balanced double entries, append-only, corrected only by reversal.

Each entry debits one account and credits another by the same amount (so debits always equal
credits): income debits `assets:bank` and credits `income:<category>`; an expense debits
`expenses:<category>` and credits `assets:bank`; a loan debits `assets:bank` and credits
`liabilities:loans:<lender>`. A reversal is an entry of the opposite sign with `reverses` set.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from swp.clock import now
from swp.errors import InputError, PreconditionError
from swp.models import LedgerEntry, Period
from swp.services.roles import require_manager

BANK = "assets:bank"
_CATEGORY = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")


def check_category(category: str) -> str:
    value = (category or "").strip().lower()
    if not _CATEGORY.match(value):
        raise InputError(f"not a category: {category!r}; use a word such as contracts, rent, "
                         "salaries (letters, digits, hyphens)")
    return value


def accounts(kind: str, category: str, *, lender: str | None = None) -> tuple[str, str]:
    """(debit, credit) for an entry of this kind."""
    if kind == "income":
        return BANK, f"income:{category}"
    if kind == "expense":
        return f"expenses:{category}", BANK
    if kind == "loan":
        return BANK, f"liabilities:loans:{lender or category}"
    raise InputError(f"not an entry type: {kind!r} (income or expense)")


def closed_period_containing(session, day: date) -> Period | None:
    return session.execute(
        select(Period).where(Period.start <= day, Period.end >= day).limit(1)
    ).scalar_one_or_none()


def ensure_open(session, day: date) -> None:
    """No entry dated inside a closed period can be added, changed or reversed."""
    period = closed_period_containing(session, day)
    if period is not None:
        raise PreconditionError(f"{day} is inside the closed period {period.label} "
                                f"({period.start} to {period.end}); corrections go into an open period")


@dataclass(frozen=True)
class Recorded:
    id: int
    date: date
    kind: str
    amount_pence: int
    category: str


def record(session, *, actor: str | None, kind: str, amount_pence: int, day: date,
           category: str, memo: str | None = None, ref: str | None = None,
           contract_id: int | None = None, partner_id: int | None = None,
           measure: str | None = None, lender: str | None = None,
           check_role: bool = True) -> Recorded:
    """Record one income, expense or loan entry (a positive amount)."""
    if check_role:
        require_manager(session, actor, "recording ledger entries")
    if amount_pence <= 0:
        raise InputError("the amount must be more than zero")
    category = check_category(category)
    ensure_open(session, day)
    if ref is not None:
        existing = session.execute(select(LedgerEntry.id).where(LedgerEntry.ref == ref)).first()
        if existing:
            raise PreconditionError(f"an entry with ref {ref!r} already exists (#{existing[0]})")
    debit, credit = accounts(kind, category, lender=lender)
    entry = LedgerEntry(date=day, kind=kind, amount_pence=amount_pence, category=category,
                        debit=debit, credit=credit, memo=memo, ref=ref, contract_id=contract_id,
                        partner_id=partner_id, measure=measure, recorded_at=now())
    session.add(entry)
    session.flush()
    return Recorded(entry.id, day, kind, amount_pence, category)
