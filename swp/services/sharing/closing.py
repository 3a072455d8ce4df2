"""Closing a period (SPEC section 5): recording its allocations and its fingerprint, and
locking it; the closed periods, and checking each one's fingerprint against the books."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import func, select
from sqlmodel import col

from swp.clock import now, today
from swp.errors import InputError, NotFound, PreconditionError
from swp.models import Allocation, AuditEvent, LedgerEntry, Member, Period
from swp.services import audit
from swp.services.roles import require_manager
from swp.services.sharing.workout import (
    CategoryTotal,
    Sharing,
    check_dates,
    check_label,
    compute,
    period_totals,
    reserve_balance,
    settlements_upto,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

CLOSE_ACTION = "period.closed"  # the domain action of a close, named in its audit event
LEGACY_CLOSE_COMMAND = "period close"  # how events from before action names found a close


# --- closing --------------------------------------------------------------------------------


def fingerprint(*, label: str, start: date, end: date, income_pence: int, expenses_pence: int,
                net_pence: int, reserve_pence: int, distributable_pence: int, method: str,
                categories: Sequence[CategoryTotal], allocations: Sequence[dict[str, Any]],
                audit_head: str, settlements_upto: int | None = None) -> str:
    """sha256 over a canonical description of the closed period: its label, dates, totals,
    figures by category, every allocation (with its basis), the audit head at close time and,
    for a close that recorded it, the last deficit settlement it counted (a period closed
    before swp recorded that keeps the fingerprint it was given)."""
    body = {
        "label": label, "start": start.isoformat(), "end": end.isoformat(),
        "income_pence": income_pence, "expenses_pence": expenses_pence, "net_pence": net_pence,
        "reserve_pence": reserve_pence, "distributable_pence": distributable_pence,
        "method": method,
        "by_category": sorted([c.kind, c.category, c.pence] for c in categories),
        "allocations": sorted(allocations, key=lambda a: a["member"]),
        "audit_head": audit_head,
    }
    if settlements_upto is not None:
        body["settlements_upto"] = settlements_upto
    return hashlib.sha256(audit.canonical(body).encode("utf-8")).hexdigest()


def _allocation_record(member: str, amount: int, carried_in: int, payable: int, carried_out: int,
                       basis: Mapping[str, Any]) -> dict[str, Any]:
    return {"member": member, "amount_pence": amount, "carried_in_pence": carried_in,
            "payable_pence": payable, "carried_out_pence": carried_out, "basis": dict(basis)}


def _check_sequence(session: Session, label: str | None, start: date, end: date) -> None:
    """A close's checks of where the period falls (`label` None: a preview by its dates)."""
    same = None if label is None else \
        session.execute(select(Period).where(col(Period.label) == label)).scalar_one_or_none()
    if same is not None:
        raise PreconditionError(f"a period labelled {label} is already closed "
                                f"({same.start} to {same.end})")
    overlap = session.execute(
        select(Period).where(col(Period.start) <= end, col(Period.end) >= start).order_by(col(Period.start)).limit(1)
    ).scalar_one_or_none()
    if overlap is not None:
        raise PreconditionError(f"{start} to {end} overlaps the closed period {overlap.label} "
                                f"({overlap.start} to {overlap.end}); periods never overlap")
    last = session.execute(select(Period).order_by(col(Period.end).desc()).limit(1)).scalar_one_or_none()
    if last is not None and start != last.end + timedelta(days=1):
        raise PreconditionError(
            f"periods follow one another with no gap: the last closed period ({last.label}) ended "
            f"on {last.end}, so the next one starts on {last.end + timedelta(days=1)}, not {start}")
    if end > today():
        raise PreconditionError(f"the period ends on {end}, after today ({today()}); a period "
                                "is closed once it is over (preview it meanwhile)")


def preview(session: Session, *, start: date, end: date, label: str | None = None,
            method: Mapping[str, int] | None = None) -> Sharing:
    """What closing the period now would record, changing nothing (`workout.compute`)."""
    return compute(session, start=start, end=end, label=label, method=method)


def close(session: Session, *, actor: str | None, label: str, start: date, end: date,
          leave_unshared: bool = False) -> Sharing:
    """Close a period: record its totals and allocations, and lock it.

    Periods follow one another, so a first period that starts after the books' first income or
    expense leaves those entries outside every period for good: refused unless
    `leave_unshared`."""
    require_manager(session, actor, "closing periods")
    label = check_label(label)
    check_dates(start, end)
    if end > today():
        raise InputError(f"the period ends on {end}, after today ({today()}): a period is closed "
                         "once it is over, never in advance")
    _check_sequence(session, label, start, end)
    worked = compute(session, start=start, end=end, label=label)
    # everything settled or written off so far is taken off what the members bring in (compute
    # counts it all); the period records how far that went, so that later ones are not
    counted = settlements_upto(session)
    if worked.entries_before and not leave_unshared:
        earliest = session.execute(select(func.min(col(LedgerEntry.date))).where(
            col(LedgerEntry.kind).in_(("income", "expense")))).scalar_one()
        raise PreconditionError(
            f"{worked.entries_before:,} income or expense entries are dated before {start} (the "
            f"first on {earliest}); as periods follow one another, closing this first period "
            f"would leave them outside every period, never shared: start it on {earliest}, or "
            "add --leave-unshared")
    bases = {share.member: share.basis(worked.slices, worked.probation_days) for share in worked.shares}
    records = [_allocation_record(s.member, s.amount_pence, s.carried_in_pence, s.payable_pence,
                                  s.carried_out_pence, bases[s.member]) for s in worked.shares]
    _, head_hash = audit.head(session)
    print_ = fingerprint(label=label, start=start, end=end, income_pence=worked.income_pence,
                         expenses_pence=worked.expenses_pence, net_pence=worked.net_pence,
                         reserve_pence=worked.reserve_pence,
                         distributable_pence=worked.distributable_pence, method=worked.method,
                         categories=worked.categories, allocations=records, audit_head=head_hash,
                         settlements_upto=counted)
    period = Period(label=label, start=start, end=end, income_pence=worked.income_pence,
                    expenses_pence=worked.expenses_pence, net_pence=worked.net_pence,
                    reserve_pence=worked.reserve_pence,
                    distributable_pence=worked.distributable_pence, method=worked.method,
                    fingerprint=print_, closed_at=now(), closed_by=actor, settlements_upto=counted)
    session.add(period)
    session.flush()
    assert period.id is not None  # flushed
    ids = {handle: cast(int, member_id)  # stored members: ids are set
           for handle, member_id in session.execute(select(col(Member.handle), col(Member.id)).where(
               col(Member.handle).in_([s.member for s in worked.shares])))}
    for share in worked.shares:
        session.add(Allocation(period_id=period.id, member_id=ids[share.member],
                               amount_pence=share.amount_pence,
                               carried_in_pence=share.carried_in_pence,
                               payable_pence=share.payable_pence,
                               carried_out_pence=share.carried_out_pence,
                               basis=audit.canonical(bases[share.member])))
    session.flush()
    audit.act(session, CLOSE_ACTION, {
        "label": label, "start": start, "end": end, "id": period.id,
        "income_pence": worked.income_pence, "expenses_pence": worked.expenses_pence,
        "net_pence": worked.net_pence, "reserve_pence": worked.reserve_pence,
        "distributable_pence": worked.distributable_pence, "method": worked.method,
        "fingerprint": print_, "closed_by": actor, "settlements_upto": counted,
        "allocations": [{"handle": s.member, "amount_pence": s.amount_pence,
                         "carried_in_pence": s.carried_in_pence, "payable_pence": s.payable_pence,
                         "carried_out_pence": s.carried_out_pence} for s in worked.shares]})
    return replace(worked, fingerprint=print_, closed_by=actor)


def close_args(label: str, start: date, end: date) -> dict[str, str]:
    """The audit arguments of a close: the statement finds the close's event by them."""
    return {"label": label, "start": start.isoformat(), "end": end.isoformat()}


# --- closed periods -------------------------------------------------------------------------


@dataclass(frozen=True)
class PeriodView:
    label: str
    start: date
    end: date
    income_pence: int
    expenses_pence: int
    net_pence: int
    reserve_pence: int
    distributable_pence: int
    method: str
    members: int
    fingerprint: str
    closed_at: str
    closed_by: str | None


def list_periods(session: Session) -> tuple[list[PeriodView], int]:
    """Every closed period, oldest first, and the reserve as it stands."""
    counts = dict(session.execute(
        select(col(Allocation.period_id), func.count()).group_by(col(Allocation.period_id))).all())
    views = [PeriodView(p.label, p.start, p.end, p.income_pence, p.expenses_pence, p.net_pence,
                        p.reserve_pence, p.distributable_pence, p.method, int(counts.get(cast(int, p.id), 0)),
                        p.fingerprint, p.closed_at.isoformat(timespec="seconds"), p.closed_by)
             for p in session.execute(select(Period).order_by(col(Period.start))).scalars()]
    return views, reserve_balance(session)


def find_period(session: Session, label: str) -> Period:
    period = session.execute(select(Period).where(col(Period.label) == label)).scalar_one_or_none()
    if period is None:
        labels = [row[0] for row in session.execute(select(col(Period.label)).order_by(col(Period.start)))]
        known = f"; closed periods: {', '.join(labels)}" if labels else "; no period is closed yet"
        raise NotFound(f"no closed period labelled {label!r}{known}")
    return period


def last_closed_end(session: Session, member_id: int) -> date | None:
    """The last day of the latest closed period with an allocation to the member: the last day
    they were counted as a member (a change or a leaving date may not come before it)."""
    row = session.execute(
        select(col(Period.end)).join(Allocation, col(Allocation.period_id) == col(Period.id))
        .where(col(Allocation.member_id) == member_id).order_by(col(Period.end).desc()).limit(1)
    ).first()
    return row[0] if row else None


def _close_head(session: Session, period: Period) -> str | None:
    """The audit head when the period was closed: the prev_hash of its close event (found
    by its action, period.closed, and label; before action names, by its command)."""
    import json

    for prev_hash, payload in session.execute(
            select(col(AuditEvent.prev_hash), col(AuditEvent.payload)).where(
                col(AuditEvent.action) == CLOSE_ACTION, col(AuditEvent.outcome) == "ok")
            .order_by(col(AuditEvent.seq))):
        for name, body in json.loads(payload or "[]"):
            if name == CLOSE_ACTION and body.get("label") == period.label \
                    and body.get("start") == period.start.isoformat() \
                    and body.get("end") == period.end.isoformat():
                return prev_hash
    args = audit.canonical(close_args(period.label, period.start, period.end))
    row = session.execute(
        select(col(AuditEvent.prev_hash)).where(col(AuditEvent.command) == LEGACY_CLOSE_COMMAND,
                                                col(AuditEvent.real_at).is_(None),
                                                col(AuditEvent.outcome) == "ok", col(AuditEvent.args) == args)
        .order_by(col(AuditEvent.seq)).limit(1)).first()
    return row[0] if row else None


def verify_period(session: Session, period: Period,
                  categories: Sequence[CategoryTotal] | None = None) -> bool | None:
    """Recompute the fingerprint from the books as they are now: True if it still matches,
    False if anything it covers changed, None if the close is not in the audit log.
    `categories`: the period's totals by category, if the caller has just summed them."""
    head_hash = _close_head(session, period)
    if head_hash is None:
        return None
    if categories is None:
        _, categories = period_totals(session, period.start, period.end)
    rows = session.execute(
        select(col(Member.handle), col(Allocation.amount_pence), col(Allocation.carried_in_pence),
               col(Allocation.payable_pence), col(Allocation.carried_out_pence), col(Allocation.basis))
        .join(Member, col(Member.id) == col(Allocation.member_id))
        .where(col(Allocation.period_id) == period.id)).all()
    records = [_allocation_record(r[0], r[1], r[2], r[3], r[4], json.loads(r[5])) for r in rows]
    expected = fingerprint(label=period.label, start=period.start, end=period.end,
                           income_pence=period.income_pence, expenses_pence=period.expenses_pence,
                           net_pence=period.net_pence, reserve_pence=period.reserve_pence,
                           distributable_pence=period.distributable_pence, method=period.method,
                           categories=categories, allocations=records, audit_head=head_hash,
                           settlements_upto=period.settlements_upto)
    return expected == period.fingerprint




def fingerprint_problems(session: Session) -> list[str]:
    """For `swp check`: every closed period whose books no longer match its fingerprint."""
    problems = []
    for period in session.execute(select(Period).order_by(col(Period.start))).scalars():
        verified = verify_period(session, period)
        if verified is False:
            problems.append(f"period {period.label} ({period.start} to {period.end}) no longer matches "
                            "its fingerprint: something it covers changed after the close")
        elif verified is None:
            problems.append(f"period {period.label} has no close in the audit log to check its "
                            "fingerprint against")
    return problems
