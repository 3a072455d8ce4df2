"""Handing profit shares to a payroll bureau, paying them, and settling a former member's deficit.

A closed period's payable shares are owed to the members from the close until they are paid:
`shares_owed` is that liability (payable shares of closed periods less the payments recorded).
`pay` records the payment of every unpaid share of a period on a date, and one ledger entry per
member (kind share-payment: debit liabilities:profit-share-owed, credit assets:bank), so the money
leaves the books' bank account on that day. A former member's outstanding deficit (the
carried-out deficit of their last allocation) can be settled, in part or whole, by money paid
in (a settlement entry: debit assets:bank, credit assets:deficits-owed), or written off by an
ordinary resolution (no money moves, so no entry). Neither kind of entry is income or expense:
no period's pool counts them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import func, select
from sqlmodel import col

from swp.clock import now
from swp.errors import InputError, NotFound, PreconditionError
from swp.models import Allocation, LedgerEntry, Member, Period, ProfitPayment
from swp.money import format_pence
from swp.services import audit
from swp.services.ledger import BANK, MEMBER_DEFICITS, SHARES_OWED, ensure_entry_day
from swp.services.roles import require_manager

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

_PAYROLL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9/_.-]{0,34}\Z")
# HMRC's shape of a national insurance number: two letters (not D, F, I, Q, U, V; the second
# not O), six digits, and A, B, C or D
_NINO = re.compile(r"^[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z][0-9]{6}[A-D]\Z")
_NINO_NOT = ("BG", "GB", "KN", "NK", "NT", "TN", "ZZ")


def check_payroll_id(text: str) -> str:
    value = (text or "").strip()
    if not _PAYROLL_ID.match(value):
        raise InputError(f"not a payroll id: {text!r}; use the bureau's reference: up to 35 letters, "
                         "digits and - _ / .")
    return value


def check_ni_number(text: str) -> str:
    value = re.sub(r"\s", "", text or "").upper()
    if not _NINO.match(value) or value[:2] in _NINO_NOT:
        raise InputError(f"not a national insurance number: {text!r}; it looks like AB 12 34 56 C")
    return value


def _member(session: Session, handle: str) -> Member:
    member = session.execute(select(Member).where(col(Member.handle) == handle)).scalar_one_or_none()
    if member is None:
        raise NotFound(f"no member {handle!r}")
    return member


def set_ids(session: Session, *, actor: str | None, handle: str, payroll_id: str | None,
            ni_number: str | None) -> Member:
    """Record a member's payroll id and/or national insurance number (a manager's task)."""
    require_manager(session, actor, "recording payroll details")
    member = _member(session, handle)
    changed: dict[str, Any] = {"member": handle}
    if payroll_id is not None:
        member.payroll_id = check_payroll_id(payroll_id)
        changed["payroll_id"] = member.payroll_id
    if ni_number is not None:
        member.ni_number = check_ni_number(ni_number)
        changed["ni_number"] = "recorded"  # the number itself stays out of the audit log
    session.add(member)
    session.flush()
    audit.act(session, "member.payroll-updated", changed)
    return member


# --- the payroll file ----------------------------------------------------------------------

PAYROLL_HEADER = ("member", "name", "payroll_id", "ni_number", "gross_profit_share",
                  "gross_profit_share_pence", "period", "pay_date")


@dataclass(frozen=True)
class PayrollRow:
    member: str
    name: str
    payroll_id: str | None
    ni_number: str | None
    payable_pence: int
    period: str
    pay_date: date | None


def payroll_rows(session: Session, *, actor: str | None, label: str, pay_date: date | None) -> list[PayrollRow]:
    """One row per member with a payable share in the closed period (a manager's task: it
    carries national insurance numbers). The pay date is the recorded payment's, else `pay_date`."""
    from swp.services.sharing.closing import find_period

    require_manager(session, actor, "writing the payroll file")
    period = find_period(session, label)
    query = (select(col(Member.handle), col(Member.name), col(Member.payroll_id), col(Member.ni_number),
                    col(Allocation.payable_pence), col(ProfitPayment.paid_on))
             .join(Allocation, col(Allocation.member_id) == col(Member.id))
             .outerjoin(ProfitPayment, (col(ProfitPayment.member_id) == col(Member.id))
                        & (ProfitPayment.period_id == period.id))
             .where(col(Allocation.period_id) == period.id, col(Allocation.payable_pence) > 0)
             .order_by(col(Member.handle)))
    return [PayrollRow(handle, name, payroll_id, ni, int(payable), period.label, paid_on or pay_date)
            for handle, name, payroll_id, ni, payable, paid_on in session.execute(query)]


def render_payroll(rows: list[PayrollRow]) -> str:
    """The payroll CSV, formula-safe like every CSV swp writes."""
    import io

    from swp.money import pence_to_decimal
    from swp.reports.spreadsheet import neutralise
    from swp.reports.spreadsheet import writer as spreadsheet_writer

    buffer = io.StringIO()
    writer = spreadsheet_writer(buffer)
    writer.writerow(PAYROLL_HEADER)
    for r in rows:
        writer.writerow((neutralise(r.member), neutralise(r.name), neutralise(r.payroll_id),
                         neutralise(r.ni_number), str(pence_to_decimal(r.payable_pence)),
                         str(r.payable_pence), neutralise(r.period),
                         r.pay_date.isoformat() if r.pay_date else ""))
    return buffer.getvalue()


# --- paying --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Paid:
    period: str
    paid_on: date
    members: int
    total_pence: int
    shares_owed_pence: int


def shares_owed(session: Session) -> int:
    """Profit shares declared payable in closed periods and not yet paid (a liability)."""
    payable = session.execute(select(func.coalesce(func.sum(Allocation.payable_pence), 0))
                              .where(col(Allocation.payable_pence) > 0)).scalar_one()
    paid = session.execute(select(func.coalesce(func.sum(col(ProfitPayment.amount_pence)), 0))).scalar_one()
    return int(payable) - int(paid)


def pay(session: Session, *, actor: str | None, label: str, on: date) -> Paid:
    """Record the payment of every unpaid payable share of a closed period on `on`."""
    from swp.services.sharing.closing import find_period

    require_manager(session, actor, "recording the payment of profit shares")
    period = find_period(session, label)
    if on <= period.end:
        raise InputError(f"shares of {period.label} are paid after it ends ({period.end}); "
                         f"{on} is not")
    ensure_entry_day(session, on)
    unpaid = session.execute(
        select(col(Allocation.member_id), col(Allocation.payable_pence))
        .outerjoin(ProfitPayment, (col(ProfitPayment.member_id) == col(Allocation.member_id))
                   & (ProfitPayment.period_id == Allocation.period_id))
        .where(col(Allocation.period_id) == period.id, col(Allocation.payable_pence) > 0,
               col(ProfitPayment.id).is_(None))).all()
    if not unpaid:
        raise PreconditionError(f"no unpaid profit share in {period.label}: every payable share "
                                "is already paid (or none was payable)")
    stamp = now()
    assert period.id is not None  # a stored period
    handles = dict(session.execute(select(col(Member.id), col(Member.handle))
                                   .where(col(Member.id).in_([m for m, _ in unpaid]))).all())
    for member_id, payable in unpaid:
        session.add(ProfitPayment(period_id=period.id, member_id=member_id, amount_pence=int(payable),
                                  paid_on=on, recorded_at=stamp))
        session.add(share_payment_entry(period, handles[member_id], int(payable), on, stamp))
    session.flush()
    total = sum(int(p) for _, p in unpaid)
    audit.act(session, "period.paid", {"period": period.label, "paid_on": on.isoformat(),
                                       "members": len(unpaid), "total_pence": total})
    return Paid(period.label, on, len(unpaid), total, shares_owed(session))


def share_payment_entry(period: Period, handle: str, pence: int, on: date, stamp: datetime) -> LedgerEntry:
    """The ledger entry of one member's profit share paid (the refs are unique: one payment)."""
    return LedgerEntry(date=on, kind="share-payment", amount_pence=pence, category="profit-share",
                       debit=SHARES_OWED, credit=BANK,
                       memo=f"profit share of {period.label} paid to {handle}",
                       ref=f"swp:share:{period.label}:{handle}", recorded_at=stamp)


# --- a former member's deficit -------------------------------------------------------------

@dataclass(frozen=True)
class Settled:
    member: str
    amount_pence: int
    on: date
    outstanding_pence: int  # still owed afterwards (>= 0)


def outstanding(session: Session, member: Member) -> int:
    """What a member still owes (>= 0): the deficit carried out of their last allocation, less
    what has been settled or written off since."""
    from swp.services.sharing.workout import outstanding_deficits

    assert member.id is not None  # a stored member
    return -outstanding_deficits(session, [member.id]).get(member.id, 0)


def settle(session: Session, *, actor: str | None, handle: str, amount_pence: int, on: date) -> Settled:
    """A former member pays in part or all of their outstanding deficit."""
    from swp.models import DeficitSettlement  # built when first needed (see swp.models)

    require_manager(session, actor, "settling a former member's deficit")
    member = _member(session, handle)
    if member.left_on is None:
        raise PreconditionError(f"{handle} is a current member: a current member's deficit is set "
                                "against their next shares")
    owed = outstanding(session, member)
    if owed == 0:
        raise PreconditionError(f"{handle} owes nothing: no outstanding deficit")
    if amount_pence <= 0:
        raise InputError("the amount must be more than zero")
    if amount_pence > owed:
        raise InputError(f"{handle} owes {format_pence(owed)}; {format_pence(amount_pence)} is more")
    ensure_entry_day(session, on)  # dated by today at the latest, as every entry is
    stamp = now()
    assert member.id is not None  # a stored member
    settlement = DeficitSettlement(member_id=member.id, amount_pence=amount_pence, kind="settled",
                                   settled_on=on, recorded_at=stamp)
    session.add(settlement)
    session.flush()
    session.add(LedgerEntry(date=on, kind="settlement", amount_pence=amount_pence,
                            category="deficit-settlements", debit=BANK, credit=MEMBER_DEFICITS,
                            memo=f"deficit settled by {handle}", ref=f"swp:settlement:{settlement.id}",
                            recorded_at=stamp))
    session.flush()
    audit.act(session, "member.deficit-settled", {"member": handle, "amount_pence": amount_pence,
                                                  "on": on.isoformat()})
    return Settled(handle, amount_pence, on, owed - amount_pence)


def write_off_check(session: Session, handle: str, amount_pence: int | None) -> Member:
    """What a resolution writing off `handle`'s deficit needs when it is proposed: a former
    member who owes something, and no more than they owe."""
    member = _member(session, handle)
    if member.left_on is None:
        raise PreconditionError(f"{handle} is a current member: a current member's deficit is set "
                                "against their next shares, not written off")
    owed = outstanding(session, member)
    if owed == 0:
        raise PreconditionError(f"{handle} owes nothing: no outstanding deficit to write off")
    if amount_pence is not None:
        if amount_pence <= 0:
            raise InputError("the amount must be more than zero")
        if amount_pence > owed:
            raise InputError(f"{handle} owes {format_pence(owed)}; {format_pence(amount_pence)} is more")
    return member


def write_off(session: Session, *, handle: str, amount_pence: int | None, proposal_id: int, on: date) -> str:
    """A passed resolution's effect: write off `amount_pence` (None: all) of what `handle` still
    owes, or what is left of it if some was settled since the proposal was made."""
    from swp.models import DeficitSettlement  # built when first needed (see swp.models)

    member = _member(session, handle)
    owed = outstanding(session, member)
    pence = owed if amount_pence is None else min(amount_pence, owed)
    if pence <= 0:
        return f"{handle} owes nothing now; nothing written off"
    assert member.id is not None  # a stored member
    session.add(DeficitSettlement(member_id=member.id, amount_pence=pence, kind="written-off",
                                  settled_on=on, proposal_id=proposal_id, recorded_at=now()))
    session.flush()
    audit.act(session, "member.deficit-written-off", {"member": handle, "amount_pence": pence,
                                                      "on": on.isoformat(), "proposal": proposal_id})
    return (f"{format_pence(pence)} of {handle}'s deficit written off; "
            f"{format_pence(owed - pence)} still owed")


def settlements_counted(session: Session, member_id: int, after: Period | None,
                        by: Period | None = None) -> list[tuple[date, str, int, int | None]]:
    """(day, kind, pence, resolution) of each of a member's settlements and write-offs that the
    close of `after` did not count, and (when given) the close of `by` did: see
    `workout.counted_by`. Ordered by day, then as recorded."""
    from swp.models import DeficitSettlement  # built when first needed (see swp.models)
    from swp.services.sharing.workout import counted_by

    query = (select(col(DeficitSettlement.id), col(DeficitSettlement.settled_on), col(DeficitSettlement.kind),
                    col(DeficitSettlement.amount_pence), col(DeficitSettlement.proposal_id))
             .where(col(DeficitSettlement.member_id) == member_id)
             .order_by(col(DeficitSettlement.settled_on), col(DeficitSettlement.id)))
    found = []
    for settlement_id, on, kind, pence, proposal in session.execute(query):
        number = cast(int, settlement_id)  # stored: ids are set
        if (after is None or not counted_by(after.settlements_upto, after.end, number, on)) \
                and (by is None or counted_by(by.settlements_upto, by.end, number, on)):
            found.append((on, kind, int(pence), proposal))
    return found
