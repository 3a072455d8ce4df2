"""Each member's profit-share statement of a closed period: its data, gathered from the close
and the books (the writers of each format are in swp/reports/)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import date
from typing import TYPE_CHECKING

from sqlalchemy import and_, func, select
from sqlmodel import col

from swp.dates import fiscal_year_start
from swp.errors import CheckFailed, NotFound, PermissionDenied
from swp.models import Allocation, Member, Period, Practice
from swp.services import audit
from swp.services.practice import get_practice
from swp.services.roles import current_managers
from swp.services.sharing.closing import find_period, verify_period
from swp.services.sharing.workout import CategoryTotal, check_label, period_totals

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from swp.reports.statement import Statement


def _may_see(session: Session, actor: str | None, handles: Sequence[str]) -> None:
    """A manager issues anyone's statement; a member may see their own."""
    if actor is not None and list(handles) == [actor]:
        return
    managers = current_managers(session)
    if not managers or actor in managers:
        return
    if actor is None:
        raise PermissionDenied(f"issuing statements needs --as a current manager ({', '.join(managers)}), "
                               "or --as yourself for your own")
    raise PermissionDenied(f"issuing statements needs --as a current manager; {actor!r} may see "
                           f"only their own (leave out --member, or give --member {actor})")


def issue(session: Session, *, actor: str | None, label: str, member: str | None = None,
          books: Callable[[Session, Period], Sequence[CategoryTotal]] | None = None) -> list[Statement]:
    """The profit-share statements of a closed period: one member's, or everyone's.
    `books(session, period)` gives the period's totals by category from the books: by default
    summed now; the members' page passes a `ClosedBooks`, which keeps them between views."""
    from swp.reports.statement import BasisRow, HistoryRow, Line, SettlementRow, Statement
    from swp.services.payroll import settlements_counted

    label = check_label(label)
    period = find_period(session, label)
    rows = session.execute(
        select(col(Member.id), col(Member.handle), col(Member.name), col(Allocation.amount_pence),
               col(Allocation.carried_in_pence), col(Allocation.payable_pence),
               col(Allocation.carried_out_pence), col(Allocation.basis))
        .join(Member, col(Member.id) == col(Allocation.member_id))
        .where(col(Allocation.period_id) == period.id).order_by(col(Member.handle))).all()
    if member is not None:
        chosen = [r for r in rows if r[1] == member]
        if not chosen:
            exists = session.execute(select(col(Member.id)).where(col(Member.handle) == member)).first()
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
        select(col(Allocation.member_id), func.sum(col(Allocation.amount_pence)))
        .join(Period, col(Period.id) == col(Allocation.period_id))
        .where(and_(col(Period.end) >= year_start, col(Period.end) <= period.end))
        .group_by(col(Allocation.member_id))).all())
    reserve_after = int(session.execute(
        select(func.coalesce(func.sum(col(Period.reserve_pence)), 0)).where(col(Period.end) <= period.end)
    ).scalar_one())

    income = tuple(Line(c.category, c.pence) for c in categories if c.kind == "income")
    expenses = tuple(Line(c.category, c.pence) for c in categories if c.kind == "expense")
    head_seq, head_hash = audit.head(session)
    head_text = f"{head_seq}:{head_hash}"  # keep it: 'swp audit verify --witness' checks it later
    keys = dict(session.execute(select(col(Member.handle), col(Member.key_fingerprint))).all())
    result = []
    from swp.services.registers import statement_lines

    last_end = dict(session.execute(
        select(col(Allocation.member_id), func.max(col(Period.end))).join(Period, col(Period.id) == col(Allocation.period_id))
        .where(col(Allocation.member_id).in_([r[0] for r in rows])).group_by(col(Allocation.member_id))).all())
    previous: dict[int, Period] = {}  # each member's period before this one, if any
    for holder, earlier in session.execute(
            select(col(Allocation.member_id), Period).join(Period, col(Period.id) == col(Allocation.period_id))
            .where(col(Allocation.member_id).in_([r[0] for r in rows]), col(Period.end) < period.end)
            .order_by(col(Period.end))):
        previous[holder] = earlier
    for member_id, handle, name, amount, carried_in, payable, carried_out, basis_text in rows:
        assert member_id is not None  # a stored member
        stored = session.get(Member, member_id)
        assert stored is not None  # an allocation's member exists (a foreign key)
        basis = json.loads(basis_text)
        # what was settled or written off of the deficit this period carried forward: only the
        # member's last period carries it (a later one would bring it in and carry it on), and
        # only what its close did not count (what it counted is already in what it brought in,
        # as workout.outstanding_deficits counts them)
        settled = (tuple(SettlementRow(*row) for row in settlements_counted(session, member_id, period))
                   if carried_out < 0 and last_end.get(member_id) == period.end else ())
        # and what they settled after their previous period's close counted and by this one's:
        # already taken off the deficit this period brought in
        before = (tuple(SettlementRow(*row) for row in settlements_counted(
            session, member_id, previous[member_id], by=period)) if member_id in previous else ())
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
            register=statement_lines(stored),
            audit_head=head_text, sandbox=bool(practice.sandbox),
            key_fingerprint=keys.get(handle), settlements=settled,
            settled_before=before))
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
        self._kept: dict[tuple[int | None, date, date, str], tuple[object, float, tuple[CategoryTotal, ...]]] = {}
        self._lock = threading.Lock()

    def __call__(self, session: Session, period: Period) -> tuple[CategoryTotal, ...]:
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


def books_token(session: Session) -> object:
    """Something that moves whenever a closed period's entries could have been changed (see
    ClosedBooks); cheap to read."""
    from swp.db import ledger_change_token

    return ledger_change_token(session.connection())
