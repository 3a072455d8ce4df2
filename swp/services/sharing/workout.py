"""Working a period out (SPEC section 5): what a preview shows and what a close records,
changing nothing. `work_out` is the arithmetic alone, over what the books and the register
say; `compute` reads those from the database and calls it.

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
5. A member's outstanding deficit (the `carried_out_pence` of their latest allocation, less
   what was settled or written off after that period's close counted, whatever its date: see
   `counted_by`) is set against this allocation: `payable = max(0, amount + carried_in)`, and
   `carried_out = min(0, amount + carried_in)`.
"""


from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import func, or_, select
from sqlmodel import col

from swp import rules
from swp.dates import anniversary, years_completed
from swp.errors import InputError, PreconditionError, RuleViolation
from swp.models import Allocation, LedgerEntry, Member, MemberFact, Period
from swp.money import allocate, format_pence
from swp.services.ledger import category_totals
from swp.services.practice import load_clauses

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")


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
        """The JSON lists allocations and categories by kind, and a fingerprint only once there
        is one."""
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


def period_totals(session: Session, start: date, end: date) -> tuple[int, tuple[CategoryTotal, ...]]:
    """(number of entries, signed totals by kind and category) of income and expenses dated
    from start to end inclusive, income first (`ledger.category_totals`)."""
    rows = category_totals(session, start=start, end=end, kinds=("income", "expense"), kind_descending=True)
    count = sum(r[3] for r in rows)
    return count, tuple(CategoryTotal(r[0], r[1], r[2]) for r in rows)


def reserve_balance(session: Session) -> int:
    """The general reserve: everything added by surpluses less everything drawn for deficits."""
    return int(session.execute(select(func.coalesce(func.sum(col(Period.reserve_pence)), 0))).scalar_one())


# --- the members side: weights from the history -----------------------------------------


@dataclass
class History:
    """A member's employment and their facts (hours, pay, role) by effective date."""

    member_id: int
    handle: str
    name: str
    employed_since: date
    left_on: date | None
    facts: list[tuple[date, str, int, int]] = field(default_factory=list)  # effective, role, hours, pay


def _segments(history: History, start: date, end: date, probation_days: int) -> list[Segment]:
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


def member_histories(session: Session, start: date, end: date) -> list[History]:
    """Everyone whose employment overlaps the period, with their facts, in two queries."""
    members = session.execute(
        select(col(Member.id), col(Member.handle), col(Member.name), col(Member.employed_since), col(Member.left_on))
        .where(col(Member.employed_since) <= end,
               or_(col(Member.left_on).is_(None), col(Member.left_on) >= start))
        .order_by(col(Member.handle))
    ).all()
    histories: dict[int, History] = {}
    for member_id, handle, name, employed_since, left_on in members:
        assert member_id is not None  # a stored member
        histories[member_id] = History(member_id, handle, name, employed_since, left_on)
    if not histories:
        return []
    facts = session.execute(
        select(col(MemberFact.member_id), col(MemberFact.effective), col(MemberFact.role),
               col(MemberFact.hours_hundredths), col(MemberFact.pay_pence))
        .where(col(MemberFact.member_id).in_(list(histories)), col(MemberFact.effective) <= end)
        .order_by(col(MemberFact.member_id), col(MemberFact.effective))
    ).all()
    for member_id, effective, role, hours, pay in facts:
        histories[member_id].facts.append((effective, role, hours, pay))
    return sorted(histories.values(), key=lambda h: h.handle)


def counted_by(mark: int | None, end: date, settlement_id: int, settled_on: date) -> bool:
    """Whether the close of a period (its `settlements_upto` mark and its last day) took a
    settlement or write-off off what its members brought in: since swp records the mark, every
    one recorded before the close (id up to the mark), whatever its date; before that (mark
    None), every one dated by the period's last day."""
    return settled_on <= end if mark is None else settlement_id <= mark


def settlements_upto(session: Session) -> int:
    """What a close made now records as its `settlements_upto`: the highest settlement id so
    far (0 if none). Ids follow the order writers commit in, as swp's writers take turns."""
    from swp.models import DeficitSettlement

    return int(session.execute(select(func.coalesce(func.max(col(DeficitSettlement.id)), 0))).scalar_one() or 0)


def outstanding_deficits(session: Session, member_ids: Sequence[int] | None = None) -> dict[int, int]:
    """Each member's deficit still owed (<= 0): the carried_out of their latest allocation, less
    what has been settled or written off since that allocation's close counted (`counted_by`).
    A period closed now counts all of it: everything recorded so far."""
    from swp.models import DeficitSettlement

    query = (select(col(Allocation.member_id), col(Allocation.carried_out_pence), col(Period.end),
                    col(Period.settlements_upto))
             .join(Period, col(Period.id) == col(Allocation.period_id))
             .order_by(col(Period.end)))
    if member_ids is not None:
        query = query.where(col(Allocation.member_id).in_(list(member_ids)))
    latest: dict[int, tuple[int, date, int | None]] = {}
    for member_id, carried_out, end, mark in session.execute(query):
        latest[member_id] = (int(carried_out), end, mark)
    owed = {member_id: carried for member_id, (carried, _end, _mark) in latest.items()}
    settled = select(col(DeficitSettlement.member_id), col(DeficitSettlement.id),
                     col(DeficitSettlement.amount_pence), col(DeficitSettlement.settled_on))
    if member_ids is not None:
        settled = settled.where(col(DeficitSettlement.member_id).in_(list(member_ids)))
    for member_id, settlement_id, pence, on in session.execute(settled):
        if member_id in latest:
            _carried, end, mark = latest[member_id]
            if not counted_by(mark, end, cast(int, settlement_id), on):  # stored: ids are set
                owed[member_id] = min(0, owed[member_id] + int(pence))
    return owed


# --- working a period out -----------------------------------------------------------------


def check_dates(start: date, end: date) -> None:
    """A period starts on or before the day it ends."""
    if start > end:
        raise InputError(f"the period starts ({start}) after it ends ({end})")


def compute(session: Session, *, start: date, end: date, label: str | None = None,
            method: Mapping[str, int] | None = None) -> Sharing:
    """Work a period out, changing nothing. `method` (basis -> percent) overrides
    sharing.method (a what-if)."""
    check_dates(start, end)
    clauses = load_clauses(session)
    method_parts = method if method is not None else rules.parse_method(clauses["sharing.method"])
    reserve_percent = int(clauses["sharing.reserve-percent"])
    probation = int(clauses.get("membership.probation-days", "0"))

    entries, categories = period_totals(session, start, end)
    if entries == 0:
        raise PreconditionError(f"no income or expenses are dated from {start} to {end}: "
                                "nothing to share (check the dates)")
    reserve_before = reserve_balance(session)
    histories = member_histories(session, start, end)
    owed = outstanding_deficits(session, [h.member_id for h in histories])
    worked = work_out(start=start, end=end, label=label, method=method_parts,
                      reserve_percent=reserve_percent, probation_days=probation, entries=entries,
                      categories=categories, reserve_before_pence=reserve_before,
                      histories=histories, owed=owed)

    entries_before = 0
    if session.execute(select(func.count()).select_from(Period)).scalar_one() == 0:
        entries_before = int(session.execute(
            select(func.count()).select_from(LedgerEntry)
            .where(col(LedgerEntry.date) < start, col(LedgerEntry.kind).in_(("income", "expense")))
        ).scalar_one())
    return replace(worked, entries_before=entries_before)


def work_out(*, start: date, end: date, label: str | None, method: Mapping[str, int],
             reserve_percent: int, probation_days: int, entries: int,
             categories: Sequence[CategoryTotal], reserve_before_pence: int,
             histories: Sequence[History], owed: Mapping[int, int]) -> Sharing:
    """The arithmetic of a period, from what the books and the register say: its totals by
    category (`entries` of them), the reserve before it, each member's history and each
    member's outstanding deficit by member id (`owed`). Pure: it reads and changes nothing."""
    method_text = rules.format_method(method)
    income = sum(c.pence for c in categories if c.kind == "income")
    expenses = sum(c.pence for c in categories if c.kind == "expense")
    net = income - expenses
    if net >= 0:
        reserve = net * reserve_percent // 100
        pool = net - reserve
    else:
        drawn = min(max(reserve_before_pence, 0), -net)
        reserve = -drawn
        pool = net + drawn

    counted: list[tuple[History, list[Segment], dict[str, int]]] = []
    for history in histories:
        segments = _segments(history, start, end, probation_days)
        if segments:
            counted.append((history, segments, _weights(segments)))

    if pool != 0 and not counted:
        what = "surplus" if pool > 0 else "deficit"
        raise PreconditionError(
            f"nobody was a member on any day from {start} to {end}, so the {what} of "
            f"{format_pence(abs(pool))} cannot be shared")

    slice_pence = allocate(pool, method)
    slices: list[Slice] = []
    parts: dict[str, dict[str, int]] = {h.handle: {} for h, _, _ in counted}
    for basis, percent in method.items():
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

    guard_distribution(start, end, probation_days, shares,
                       {h.handle: h for h in histories})

    return Sharing(label=label, start=start, end=end, entries=entries, income_pence=income,
                   expenses_pence=expenses, net_pence=net, reserve_percent=reserve_percent,
                   reserve_before_pence=reserve_before_pence, reserve_pence=reserve,
                   distributable_pence=pool, method=method_text, probation_days=probation_days,
                   categories=tuple(categories), slices=tuple(slices), shares=tuple(shares))


def guard_distribution(start: date, end: date, probation_days: int, shares: Sequence[Share],
                       histories: Mapping[str, History]) -> None:
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
