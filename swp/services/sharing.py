"""Profit and expense sharing (SPEC section 5): previewing and closing a period, and the data
of each member's profit-share statement.

How a period is worked out:

1. The ledger's income and expenses dated inside the period are summed by SQL (GROUP BY kind,
   category over the covering index): never loaded as objects, so a close over a million
   entries stays fast. Amounts are signed (reversals are negative rows).
2. `net = income - expenses`. A surplus puts `floor(net * reserve-percent / 100)` into the
   general reserve and leaves the rest as the distributable pool. A deficit is met from the
   reserve (the sum of every closed period's `reserve_pence`) as far as it goes; what remains
   is a negative pool, shared as negative allocations.
3. Each member's weight for each basis is the sum, over the days of the period on which they
   were a member, of their daily factor (`equal` 1, `hours` weekly hours in hundredths, `pay`
   annual pay in pence, `service` whole years since employed-since plus 1). It is computed in
   one pass over the member's history rows as date ranges, never day by day.
4. The pool is split into slices by the method's percentages, each slice among the members by
   its own weights, and each member's parts are added. Every split is `money.allocate`
   (largest remainder, ties by key).
5. A member's outstanding deficit (the `carried_out_pence` of their latest allocation) is set
   against this allocation: `payable = max(0, amount + carried_in)`, and
   `carried_out = min(0, amount + carried_in)`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select

from swp import rules
from swp.clock import now, today
from swp.errors import CheckFailed, InputError, NotFound, PermissionDenied, PreconditionError, RuleViolation
from swp.models import Allocation, AuditEvent, LedgerEntry, Member, MemberFact, Period, Practice
from swp.money import allocate, format_pence
from swp.services import audit
from swp.services.practice import get_practice, load_clauses
from swp.services.roles import current_managers, require_manager

_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")
CLOSE_ACTION = "period.closed"  # the domain action of a close, named in its audit event
LEGACY_CLOSE_COMMAND = "period close"  # how events from before action names found a close


def check_label(label: str) -> str:
    """A period's label names files and appears on statements: letters, digits, . _ -."""
    value = (label or "").strip()
    if not _LABEL.match(value):
        raise InputError(f"not a period label: {label!r}; use 1-40 letters, digits, '.', '_' or '-', "
                         "e.g. 2025-26 or 2026-Q1")
    return value


# --- results ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CategoryTotal:
    kind: str  # income | expense
    category: str
    pence: int


@dataclass(frozen=True)
class Segment:
    """A stretch of days in the period over which a member's daily factors do not change."""

    start: date
    end: date
    role: str
    hours_hundredths: int
    pay_pence: int
    service: int  # whole years completed since employed-since, plus 1

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def as_json(self) -> dict[str, Any]:
        """The JSON names start and end from and to, and adds days."""
        return {"from": self.start.isoformat(), "to": self.end.isoformat(), "days": self.days,
                "role": self.role, "hours_hundredths": self.hours_hundredths,
                "pay_pence": self.pay_pence, "service": self.service}


@dataclass(frozen=True)
class Slice:
    basis: str
    percent: int
    pence: int
    total_weight: int


@dataclass(frozen=True)
class Share:
    """One member's allocation in a period, and how it was worked out."""

    member: str
    name: str
    days: int
    weights: Mapping[str, int]  # basis -> weight (all four bases)
    parts: Mapping[str, int]  # basis of the method -> pence from that slice
    amount_pence: int
    carried_in_pence: int
    payable_pence: int
    carried_out_pence: int
    segments: tuple[Segment, ...]

    def basis(self, slices: Sequence[Slice], probation_days: int) -> dict[str, Any]:
        """The JSON kept with the allocation: everything a statement shows about the basis."""
        return {
            "days": self.days,
            "probation_days": probation_days,
            "weights": dict(self.weights),
            "slices": [{"basis": s.basis, "percent": s.percent, "slice_pence": s.pence,
                        "weight": self.weights[s.basis], "total_weight": s.total_weight,
                        "part_pence": self.parts[s.basis]} for s in slices],
            "segments": [seg.as_json() for seg in self.segments],
        }

    def as_json(self) -> dict[str, Any]:
        """The JSON names parts parts_pence and leaves out the name and segments."""
        return {"member": self.member, "amount_pence": self.amount_pence, "days": self.days,
                "weights": dict(self.weights), "parts_pence": dict(self.parts),
                "carried_in_pence": self.carried_in_pence, "payable_pence": self.payable_pence,
                "carried_out_pence": self.carried_out_pence}


@dataclass(frozen=True)
class Sharing:
    """A period worked out: what a preview shows and what a close records."""

    label: str | None
    start: date
    end: date
    entries: int
    income_pence: int
    expenses_pence: int
    net_pence: int
    reserve_percent: int
    reserve_before_pence: int  # the general reserve before this period
    reserve_pence: int  # > 0 added to the reserve; < 0 drawn from it for a deficit
    distributable_pence: int
    method: str
    probation_days: int
    categories: tuple[CategoryTotal, ...]
    slices: tuple[Slice, ...]
    shares: tuple[Share, ...]
    entries_before: int = 0  # income/expense entries dated before the first period (a warning)
    fingerprint: str | None = None
    closed_by: str | None = None

    @property
    def income_by_category(self) -> dict[str, int]:
        return {c.category: c.pence for c in self.categories if c.kind == "income"}

    @property
    def expenses_by_category(self) -> dict[str, int]:
        return {c.category: c.pence for c in self.categories if c.kind == "expense"}

    def as_json(self) -> dict[str, Any]:
        """The JSON lists allocations and categories by kind, and a fingerprint only once there is one."""
        data: dict[str, Any] = {
            "label": self.label, "start": self.start.isoformat(), "end": self.end.isoformat(),
            "income_pence": self.income_pence, "expenses_pence": self.expenses_pence,
            "net_pence": self.net_pence, "reserve_pence": self.reserve_pence,
            "distributable_pence": self.distributable_pence, "method": self.method,
            "allocations": [share.as_json() for share in self.shares],
            "reserve_percent": self.reserve_percent,
            "reserve_before_pence": self.reserve_before_pence,
            "income_by_category": self.income_by_category,
            "expenses_by_category": self.expenses_by_category,
            "slices": [{"basis": s.basis, "percent": s.percent, "slice_pence": s.pence,
                        "total_weight": s.total_weight} for s in self.slices],
            "entries": self.entries,
            "entries_before": self.entries_before,
        }
        if self.fingerprint is not None:
            data["fingerprint"] = self.fingerprint
        return data


# --- the ledger side: totals by SQL aggregate -------------------------------------------


def period_totals(session, start: date, end: date) -> tuple[int, tuple[CategoryTotal, ...]]:
    """(number of entries, signed totals by kind and category) of income and expenses dated
    from start to end inclusive. One GROUP BY over the covering index."""
    rows = session.execute(
        select(LedgerEntry.kind, LedgerEntry.category,
               func.sum(LedgerEntry.amount_pence), func.count())
        .where(LedgerEntry.date >= start, LedgerEntry.date <= end,
               LedgerEntry.kind.in_(("income", "expense")))
        .group_by(LedgerEntry.kind, LedgerEntry.category)
        .order_by(LedgerEntry.kind.desc(), LedgerEntry.category)  # income first, then expense
    ).all()
    count = sum(int(r[3]) for r in rows)
    return count, tuple(CategoryTotal(r[0], r[1], int(r[2])) for r in rows)


def reserve_balance(session) -> int:
    """The general reserve: everything added by surpluses less everything drawn for deficits."""
    return int(session.execute(select(func.coalesce(func.sum(Period.reserve_pence), 0))).scalar_one())


# --- the members side: weights from the history -----------------------------------------


def anniversary(since: date, years: int) -> date:
    """The `years`-th anniversary of `since`; 29 February falls on 1 March in a common year."""
    try:
        return since.replace(year=since.year + years)
    except ValueError:
        return date(since.year + years, 3, 1)


def years_completed(since: date, on: date) -> int:
    """Whole years of service completed on `on` (0 before the first anniversary)."""
    if on < since:
        return 0
    years = max(0, on.year - since.year)
    while years > 0 and anniversary(since, years) > on:
        years -= 1
    while anniversary(since, years + 1) <= on:
        years += 1
    return years


@dataclass
class _History:
    member_id: int
    handle: str
    name: str
    employed_since: date
    left_on: date | None
    facts: list[tuple[date, str, int, int]] = field(default_factory=list)  # effective, role, hours, pay


def _segments(history: _History, start: date, end: date, probation_days: int) -> list[Segment]:
    """The member's facts as date ranges, intersected with their sharing days in the period,
    and split where a service anniversary falls (so each segment has constant factors)."""
    first = max(start, history.employed_since + timedelta(days=probation_days))
    last = min(end, history.left_on) if history.left_on is not None else end
    if first > last or not history.facts:
        return []
    segments: list[Segment] = []
    facts = history.facts
    for index, (effective, role, hours, pay) in enumerate(facts):
        # the first fact applies from the start of employment whatever its date
        range_start = first if index == 0 else max(first, effective)
        range_end = last if index + 1 == len(facts) else min(last, facts[index + 1][0] - timedelta(days=1))
        while range_start <= range_end:
            years = years_completed(history.employed_since, range_start)
            next_anniversary = anniversary(history.employed_since, years + 1)
            piece_end = min(range_end, next_anniversary - timedelta(days=1))
            segments.append(Segment(range_start, piece_end, role, hours, pay, years + 1))
            range_start = piece_end + timedelta(days=1)
    return segments


def _weights(segments: Sequence[Segment]) -> dict[str, int]:
    return {
        "equal": sum(s.days for s in segments),
        "hours": sum(s.days * s.hours_hundredths for s in segments),
        "pay": sum(s.days * s.pay_pence for s in segments),
        "service": sum(s.days * s.service for s in segments),
    }


def member_histories(session, start: date, end: date) -> list[_History]:
    """Everyone whose employment overlaps the period, with their facts, in two queries."""
    members = session.execute(
        select(Member.id, Member.handle, Member.name, Member.employed_since, Member.left_on)
        .where(Member.employed_since <= end,
               or_(Member.left_on.is_(None), Member.left_on >= start))
        .order_by(Member.handle)
    ).all()
    histories = {row[0]: _History(row[0], row[1], row[2], row[3], row[4]) for row in members}
    if not histories:
        return []
    facts = session.execute(
        select(MemberFact.member_id, MemberFact.effective, MemberFact.role,
               MemberFact.hours_hundredths, MemberFact.pay_pence)
        .where(MemberFact.member_id.in_(list(histories)), MemberFact.effective <= end)
        .order_by(MemberFact.member_id, MemberFact.effective)
    ).all()
    for member_id, effective, role, hours, pay in facts:
        histories[member_id].facts.append((effective, role, hours, pay))
    return sorted(histories.values(), key=lambda h: h.handle)


def outstanding_deficits(session, member_ids: Sequence[int] | None = None) -> dict[int, int]:
    """Each member's deficit still owed (<= 0): the carried_out of their latest allocation."""
    query = (select(Allocation.member_id, Allocation.carried_out_pence)
             .join(Period, Period.id == Allocation.period_id)
             .order_by(Period.end))
    if member_ids is not None:
        query = query.where(Allocation.member_id.in_(list(member_ids)))
    owed: dict[int, int] = {}
    for member_id, carried_out in session.execute(query):
        owed[member_id] = int(carried_out)
    return owed


# --- working a period out -----------------------------------------------------------------


def _check_dates(start: date, end: date) -> None:
    if start > end:
        raise InputError(f"the period starts ({start}) after it ends ({end})")


def compute(session, *, start: date, end: date, label: str | None = None,
            method: str | None = None) -> Sharing:
    """Work a period out, changing nothing. `method` overrides sharing.method (a what-if)."""
    _check_dates(start, end)
    clauses = load_clauses(session)
    method_parts = rules.parse_method(method if method is not None else clauses["sharing.method"])
    method_text = rules.format_method(method_parts)
    reserve_percent = int(clauses["sharing.reserve-percent"])
    probation = int(clauses.get("membership.probation-days", "0"))

    entries, categories = period_totals(session, start, end)
    if entries == 0:
        raise PreconditionError(f"no income or expenses are dated from {start} to {end}: "
                                "nothing to share (check the dates)")
    income = sum(c.pence for c in categories if c.kind == "income")
    expenses = sum(c.pence for c in categories if c.kind == "expense")
    net = income - expenses
    reserve_before = reserve_balance(session)
    if net >= 0:
        reserve = net * reserve_percent // 100
        pool = net - reserve
    else:
        drawn = min(max(reserve_before, 0), -net)
        reserve = -drawn
        pool = net + drawn

    histories = member_histories(session, start, end)
    counted: list[tuple[_History, list[Segment], dict[str, int]]] = []
    for history in histories:
        segments = _segments(history, start, end, probation)
        if segments:
            counted.append((history, segments, _weights(segments)))

    if pool != 0 and not counted:
        what = "surplus" if pool > 0 else "deficit"
        raise PreconditionError(
            f"nobody was a member on any day from {start} to {end}, so the {what} of "
            f"{format_pence(abs(pool))} cannot be shared")

    slice_pence = allocate(pool, method_parts)
    slices: list[Slice] = []
    parts: dict[str, dict[str, int]] = {h.handle: {} for h, _, _ in counted}
    for basis, percent in method_parts.items():
        weights = {h.handle: w[basis] for h, _, w in counted}
        total_weight = sum(weights.values())
        amount = slice_pence[basis]
        if amount != 0 and total_weight == 0:
            raise PreconditionError(
                f"the {basis} slice of {format_pence(abs(amount))} cannot be shared: no member "
                f"has any {basis} weight from {start} to {end}"
                + (" (no pay is recorded: set it with 'swp member update --pay')" if basis == "pay" else ""))
        split = allocate(amount, weights) if weights else {}
        for handle, pence in split.items():
            parts[handle][basis] = pence
        slices.append(Slice(basis, percent, amount, total_weight))

    owed = outstanding_deficits(session, [h.member_id for h, _, _ in counted])
    shares: list[Share] = []
    for history, segments, weights in counted:
        amount = sum(parts[history.handle].values())
        carried_in = owed.get(history.member_id, 0)
        balance = amount + carried_in
        shares.append(Share(
            member=history.handle, name=history.name, days=weights["equal"], weights=weights,
            parts=parts[history.handle], amount_pence=amount, carried_in_pence=carried_in,
            payable_pence=max(0, balance), carried_out_pence=min(0, balance),
            segments=tuple(segments)))

    guard_distribution(start, end, probation, shares,
                       {h.handle: h for h in histories})

    entries_before = 0
    if session.execute(select(func.count()).select_from(Period)).scalar_one() == 0:
        entries_before = int(session.execute(
            select(func.count()).select_from(LedgerEntry)
            .where(LedgerEntry.date < start, LedgerEntry.kind.in_(("income", "expense")))
        ).scalar_one())

    return Sharing(label=label, start=start, end=end, entries=entries, income_pence=income,
                   expenses_pence=expenses, net_pence=net, reserve_percent=reserve_percent,
                   reserve_before_pence=reserve_before, reserve_pence=reserve,
                   distributable_pence=pool, method=method_text, probation_days=probation,
                   categories=categories, slices=tuple(slices), shares=tuple(shares),
                   entries_before=entries_before)


def guard_distribution(start: date, end: date, probation_days: int, shares: Sequence[Share],
                       histories: Mapping[str, _History]) -> None:
    """SPEC section 6, item 9: profit only to members, and only for the days they were members.

    The weights already guarantee it (a day outside membership has no factor); this check
    refuses, with exit 3, any allocation that somehow is not backed by membership days.
    The database's allocation_members_only trigger is the second line.
    """
    for share in shares:
        history = histories.get(share.member)
        if history is None:
            raise RuleViolation("asset-lock", f"{share.member} is not a member of the practice; "
                                "profit goes only to members")
        first = max(start, history.employed_since + timedelta(days=probation_days))
        last = min(end, history.left_on) if history.left_on is not None else end
        member_days = max(0, (last - first).days + 1)
        if share.days > member_days or (share.amount_pence != 0 and share.days == 0):
            raise RuleViolation("asset-lock", f"{share.member} was a member on {member_days} days "
                                f"of the period, not {share.days}; profit goes only to members on "
                                "the days counted")


# --- closing --------------------------------------------------------------------------------


def fingerprint(*, label: str, start: date, end: date, income_pence: int, expenses_pence: int,
                net_pence: int, reserve_pence: int, distributable_pence: int, method: str,
                categories: Sequence[CategoryTotal], allocations: Sequence[dict[str, Any]],
                audit_head: str) -> str:
    """sha256 over a canonical description of the closed period: its label, dates, totals,
    figures by category, every allocation (with its basis) and the audit head at close time."""
    body = {
        "label": label, "start": start.isoformat(), "end": end.isoformat(),
        "income_pence": income_pence, "expenses_pence": expenses_pence, "net_pence": net_pence,
        "reserve_pence": reserve_pence, "distributable_pence": distributable_pence,
        "method": method,
        "by_category": sorted([c.kind, c.category, c.pence] for c in categories),
        "allocations": sorted(allocations, key=lambda a: a["member"]),
        "audit_head": audit_head,
    }
    return hashlib.sha256(audit.canonical(body).encode("utf-8")).hexdigest()


def _allocation_record(member: str, amount: int, carried_in: int, payable: int, carried_out: int,
                       basis: Mapping[str, Any]) -> dict[str, Any]:
    return {"member": member, "amount_pence": amount, "carried_in_pence": carried_in,
            "payable_pence": payable, "carried_out_pence": carried_out, "basis": dict(basis)}


def _check_sequence(session, label: str, start: date, end: date) -> None:
    same = session.execute(select(Period).where(Period.label == label)).scalar_one_or_none()
    if same is not None:
        raise PreconditionError(f"a period labelled {label} is already closed "
                                f"({same.start} to {same.end})")
    overlap = session.execute(
        select(Period).where(Period.start <= end, Period.end >= start).order_by(Period.start).limit(1)
    ).scalar_one_or_none()
    if overlap is not None:
        raise PreconditionError(f"{start} to {end} overlaps the closed period {overlap.label} "
                                f"({overlap.start} to {overlap.end}); periods never overlap")
    last = session.execute(select(Period).order_by(Period.end.desc()).limit(1)).scalar_one_or_none()
    if last is not None and start != last.end + timedelta(days=1):
        raise PreconditionError(
            f"periods follow one another with no gap: the last closed period ({last.label}) ended "
            f"on {last.end}, so the next one starts on {last.end + timedelta(days=1)}, not {start}")
    if end > today():
        raise PreconditionError(f"the period ends on {end}, after today ({today()}); a period "
                                "is closed once it is over (preview it meanwhile)")


def close(session, *, actor: str | None, label: str, start: date, end: date,
          leave_unshared: bool = False) -> Sharing:
    """Close a period: record its totals and allocations, and lock it.

    Periods follow one another, so a first period that starts after the books' first income or
    expense leaves those entries outside every period for good: refused unless
    `leave_unshared`."""
    require_manager(session, actor, "closing periods")
    label = check_label(label)
    _check_dates(start, end)
    if end > today():
        raise InputError(f"the period ends on {end}, after today ({today()}): a period is closed "
                         "once it is over, never in advance")
    _check_sequence(session, label, start, end)
    worked = compute(session, start=start, end=end, label=label)
    if worked.entries_before and not leave_unshared:
        earliest = session.execute(select(func.min(LedgerEntry.date)).where(
            LedgerEntry.kind.in_(("income", "expense")))).scalar_one()
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
                         categories=worked.categories, allocations=records, audit_head=head_hash)
    period = Period(label=label, start=start, end=end, income_pence=worked.income_pence,
                    expenses_pence=worked.expenses_pence, net_pence=worked.net_pence,
                    reserve_pence=worked.reserve_pence,
                    distributable_pence=worked.distributable_pence, method=worked.method,
                    fingerprint=print_, closed_at=now(), closed_by=actor)
    session.add(period)
    session.flush()
    ids = dict(session.execute(select(Member.handle, Member.id).where(
        Member.handle.in_([s.member for s in worked.shares]))).all())
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
        "fingerprint": print_, "closed_by": actor,
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


def list_periods(session) -> tuple[list[PeriodView], int]:
    """Every closed period, oldest first, and the reserve as it stands."""
    counts = dict(session.execute(
        select(Allocation.period_id, func.count()).group_by(Allocation.period_id)).all())
    views = [PeriodView(p.label, p.start, p.end, p.income_pence, p.expenses_pence, p.net_pence,
                        p.reserve_pence, p.distributable_pence, p.method, int(counts.get(p.id, 0)),
                        p.fingerprint, p.closed_at.isoformat(timespec="seconds"), p.closed_by)
             for p in session.execute(select(Period).order_by(Period.start)).scalars()]
    return views, reserve_balance(session)


def find_period(session, label: str) -> Period:
    period = session.execute(select(Period).where(Period.label == label)).scalar_one_or_none()
    if period is None:
        labels = [row[0] for row in session.execute(select(Period.label).order_by(Period.start))]
        known = f"; closed periods: {', '.join(labels)}" if labels else "; no period is closed yet"
        raise NotFound(f"no closed period labelled {label!r}{known}")
    return period


def _close_head(session, period: Period) -> str | None:
    """The audit head when the period was closed: the prev_hash of its close event (found
    by its action, period.closed, and label; before action names, by its command)."""
    import json

    for prev_hash, payload in session.execute(
            select(AuditEvent.prev_hash, AuditEvent.payload).where(
                AuditEvent.action == CLOSE_ACTION, AuditEvent.outcome == "ok")
            .order_by(AuditEvent.seq)):
        for name, body in json.loads(payload or "[]"):
            if name == CLOSE_ACTION and body.get("label") == period.label \
                    and body.get("start") == period.start.isoformat() \
                    and body.get("end") == period.end.isoformat():
                return prev_hash
    args = audit.canonical(close_args(period.label, period.start, period.end))
    row = session.execute(
        select(AuditEvent.prev_hash).where(AuditEvent.command == LEGACY_CLOSE_COMMAND,
                                           AuditEvent.real_at.is_(None),
                                           AuditEvent.outcome == "ok", AuditEvent.args == args)
        .order_by(AuditEvent.seq).limit(1)).first()
    return row[0] if row else None


def verify_period(session, period: Period,
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
        select(Member.handle, Allocation.amount_pence, Allocation.carried_in_pence,
               Allocation.payable_pence, Allocation.carried_out_pence, Allocation.basis)
        .join(Member, Member.id == Allocation.member_id)
        .where(Allocation.period_id == period.id)).all()
    records = [_allocation_record(r[0], r[1], r[2], r[3], r[4], json.loads(r[5])) for r in rows]
    expected = fingerprint(label=period.label, start=period.start, end=period.end,
                           income_pence=period.income_pence, expenses_pence=period.expenses_pence,
                           net_pence=period.net_pence, reserve_pence=period.reserve_pence,
                           distributable_pence=period.distributable_pence, method=period.method,
                           categories=categories, allocations=records, audit_head=head_hash)
    return expected == period.fingerprint


# --- statements -----------------------------------------------------------------------------


def fiscal_year_start(month_day: str, on: date) -> date:
    """The first day of the financial year (starting MM-DD) that contains `on`."""
    month, day_ = (int(x) for x in month_day.split("-"))

    def start_in(year: int) -> date:
        try:
            return date(year, month, day_)
        except ValueError:  # 02-29 in a common year
            return date(year, 3, 1)

    start = start_in(on.year)
    return start if start <= on else start_in(on.year - 1)


def _may_see(session, actor: str | None, handles: Sequence[str]) -> None:
    """A manager issues anyone's statement; a member may see their own."""
    if actor is not None and list(handles) == [actor]:
        return
    managers = current_managers(session)
    if not managers or actor in managers:
        return
    if actor is None:
        raise PermissionDenied(f"issuing statements needs --as a current manager ({', '.join(managers)}), "
                               "or --as yourself with --member yourself")
    raise PermissionDenied(f"issuing statements needs --as a current manager; {actor!r} may see "
                           f"only their own (--member {actor})")


def statements(session, *, actor: str | None, label: str, member: str | None = None,
               books: Any = None) -> list[Any]:
    """The profit-share statements of a closed period: one member's, or everyone's.
    `books(session, period)` gives the period's totals by category from the books: by default
    summed now; the members' page passes a `ClosedBooks`, which keeps them between views."""
    from swp.reports.statement import BasisRow, HistoryRow, Line, SettlementRow, Statement
    from swp.services.payroll import settlements_since

    label = check_label(label)
    period = find_period(session, label)
    rows = session.execute(
        select(Member.id, Member.handle, Member.name, Allocation.amount_pence,
               Allocation.carried_in_pence, Allocation.payable_pence,
               Allocation.carried_out_pence, Allocation.basis)
        .join(Member, Member.id == Allocation.member_id)
        .where(Allocation.period_id == period.id).order_by(Member.handle)).all()
    if member is not None:
        chosen = [r for r in rows if r[1] == member]
        if not chosen:
            exists = session.execute(select(Member.id).where(Member.handle == member)).first()
            if exists is None:
                raise NotFound(f"no member with handle {member!r}")
            raise NotFound(f"{member} has no allocation in {label}: they were not a member on any "
                           f"day from {period.start} to {period.end}")
        rows = chosen
    _may_see(session, actor, [r[1] for r in rows])

    practice: Practice = get_practice(session)
    if books is not None:
        categories = books(session, period)
    else:
        _, categories = period_totals(session, period.start, period.end)
    verified = verify_period(session, period, categories)
    if verified is False:
        raise CheckFailed(f"the books no longer match the fingerprint of period {label}: something "
                          "it covers was changed after the close; no statement is issued "
                          "('swp audit verify' and 'swp check' say more)")
    year_start = fiscal_year_start(practice.fiscal_year_start, period.end)
    ytd = dict(session.execute(
        select(Allocation.member_id, func.sum(Allocation.amount_pence))
        .join(Period, Period.id == Allocation.period_id)
        .where(and_(Period.end >= year_start, Period.end <= period.end))
        .group_by(Allocation.member_id)).all())
    reserve_after = int(session.execute(
        select(func.coalesce(func.sum(Period.reserve_pence), 0)).where(Period.end <= period.end)
    ).scalar_one())

    income = tuple(Line(c.category, c.pence) for c in categories if c.kind == "income")
    expenses = tuple(Line(c.category, c.pence) for c in categories if c.kind == "expense")
    head_seq, head_hash = audit.head(session)
    head_text = f"{head_seq}:{head_hash}"  # keep it: 'swp audit verify --witness' checks it later
    keys = dict(session.execute(select(Member.handle, Member.key_fingerprint)).all())
    result = []
    from swp.services.registers import statement_lines

    last_end = dict(session.execute(
        select(Allocation.member_id, func.max(Period.end)).join(Period, Period.id == Allocation.period_id)
        .where(Allocation.member_id.in_([r[0] for r in rows])).group_by(Allocation.member_id)).all())
    for member_id, handle, name, amount, carried_in, payable, carried_out, basis_text in rows:
        basis = json.loads(basis_text)
        # what was settled or written off of the deficit this period carried forward: only the
        # member's last period carries it (a later one would bring it in and carry it on), and
        # only a former member settles, so every settlement of theirs is of this deficit (as
        # payroll.outstanding counts them)
        settled = (tuple(SettlementRow(*row) for row in settlements_since(session, member_id, date.min))
                   if carried_out < 0 and last_end.get(member_id) == period.end else ())
        result.append(Statement(
            practice=practice.name, local_authority=practice.local_authority,
            period=period.label, start=period.start, end=period.end,
            closed_on=period.closed_at.date(), closed_by=period.closed_by,
            member=handle, name=name,
            income=income, expenses=expenses, income_pence=period.income_pence,
            expenses_pence=period.expenses_pence, net_pence=period.net_pence,
            reserve_pence=period.reserve_pence, reserve_balance_pence=reserve_after,
            distributable_pence=period.distributable_pence, method=period.method,
            days=int(basis.get("days", 0)), probation_days=int(basis.get("probation_days", 0)),
            basis=tuple(BasisRow(s["basis"], s["percent"], s["slice_pence"], s["weight"],
                                 s["total_weight"], s["part_pence"]) for s in basis.get("slices", [])),
            history=tuple(HistoryRow(date.fromisoformat(s["from"]), date.fromisoformat(s["to"]),
                                     s["days"], s["role"], s["hours_hundredths"], s["pay_pence"],
                                     s["service"]) for s in basis.get("segments", [])),
            amount_pence=amount, carried_in_pence=carried_in, payable_pence=payable,
            carried_out_pence=carried_out, year_start=year_start,
            year_to_date_pence=int(ytd.get(member_id, 0)),
            fingerprint=period.fingerprint, fingerprint_verified=verified,
            register=statement_lines(session.get(Member, member_id)),
            audit_head=head_text, sandbox=bool(practice.sandbox),
            key_fingerprint=keys.get(handle), settlements=settled))
    return result


class ClosedBooks:
    """A closed period's totals by category as summed from the books, kept between views by a
    long-running process (the members' page), so that a statement over a million entries does
    not sum them all on every view.

    A closed period's entries cannot change while the database's own guards stand (its ledger
    rows are append-only, and no entry may be added inside a closed period): changing them
    means removing a guard first. So the totals are summed again when the database's schema
    or the ledger table's write counts have moved since they were summed (SQLite: its
    schema_version, which any CREATE or DROP moves; PostgreSQL: the ledger table's triggers
    and its insert/update/delete statistics), and in any case once `max_age` seconds have
    passed. The fingerprint itself is recomputed on every view, from these totals and the
    stored close. `swp statement` and `swp check` always sum afresh."""

    def __init__(self, max_age: float = 600.0):
        import threading

        self.max_age = max_age
        self._kept: dict[tuple, tuple[Any, float, tuple[CategoryTotal, ...]]] = {}
        self._lock = threading.Lock()

    def __call__(self, session, period: Period) -> tuple[CategoryTotal, ...]:
        import time

        key = (period.id, period.start, period.end, period.fingerprint)
        token = books_token(session)
        with self._lock:
            kept = self._kept.get(key)
        if kept is not None and kept[0] == token and time.monotonic() - kept[1] < self.max_age:
            return kept[2]
        _, categories = period_totals(session, period.start, period.end)
        with self._lock:
            self._kept[key] = (token, time.monotonic(), categories)
        return categories


def books_token(session) -> Any:
    """Something that moves whenever a closed period's entries could have been changed (see
    ClosedBooks); cheap to read."""
    from swp.db import ledger_change_token

    return ledger_change_token(session.connection())


def fingerprint_problems(session) -> list[str]:
    """For `swp check`: every closed period whose books no longer match its fingerprint."""
    problems = []
    for period in session.execute(select(Period).order_by(Period.start)).scalars():
        verified = verify_period(session, period)
        if verified is False:
            problems.append(f"period {period.label} ({period.start} to {period.end}) no longer matches "
                            "its fingerprint: something it covers changed after the close")
        elif verified is None:
            problems.append(f"period {period.label} has no close in the audit log to check its "
                            "fingerprint against")
    return problems
