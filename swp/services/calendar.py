"""What is due and when: the statutory calendar of a practice.

- The annual general meeting: the first within `meetings.first-agm-months` of registration,
  each later one within `meetings.agm-interval-months` of the last one held (closed). The
  practice's registration date is the day it was founded in swp (`swp init`): swp knows no
  earlier one, so a practice new to swp is never overdue at once.
- The day notice of that meeting must go out by, to leave `meetings.notice-days` clear days.
- Meetings called and not yet closed; open proposals on their agendas; written resolutions'
  lapse dates.
- The annual return with the accounts: due `reporting.annual-return-months` after each
  financial year end (the day before `fiscal_year_start`) that falls after registration, until
  recorded as filed (`swp calendar filed`). The regulator sends no reminder.
- Contracts ending within 90 days.

`swp check` reports the overdue statutory items (an AGM or an annual return) as problems.
"""

from __future__ import annotations

import calendar as _calendar
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlmodel import col

from swp.clock import now, today
from swp.errors import InputError, PreconditionError
from swp.models import Contract, Filing, Meeting, MeetingItem, Proposal
from swp.services import audit
from swp.services.practice import get_practice, load_clauses

if TYPE_CHECKING:
    from collections.abc import Mapping

    from sqlalchemy.orm import Session

CONTRACT_HORIZON_DAYS = 90


def add_months(day: date, months: int) -> date:
    """The same day `months` later; the month's last day where it is shorter (31 August + 18
    months is 28 or 29 February)."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    last = _calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def agm_due(registered: date, last_agm: date | None, clauses: Mapping[str, str]) -> date:
    """The latest lawful day of the next annual general meeting."""
    if last_agm is None:
        return add_months(registered, int(clauses.get("meetings.first-agm-months", "18")))
    return add_months(last_agm, int(clauses.get("meetings.agm-interval-months", "15")))


def year_end_after(day: date, fiscal_year_start: str) -> date:
    """The first financial year end on or after `day` (the day before a fiscal year start)."""
    month, dom = (int(p) for p in fiscal_year_start.split("-"))
    for year in (day.year, day.year + 1, day.year + 2):
        start = date(year, month, min(dom, _calendar.monthrange(year, month)[1]))
        end = start - timedelta(days=1)
        if end >= day:
            return end
    raise AssertionError("unreachable")  # pragma: no cover


def year_ends(registered: date, fiscal_year_start: str, until: date) -> list[date]:
    """Every financial year end after registration, up to and including `until`."""
    out: list[date] = []
    end = year_end_after(registered + timedelta(days=1), fiscal_year_start)
    while end <= until:
        out.append(end)
        end = year_end_after(end + timedelta(days=1), fiscal_year_start)
    return out


@dataclass(frozen=True)
class Item:
    due: date
    kind: str  # agm | agm-notice | meeting | proposal | written | annual-return | contract
    what: str
    overdue: bool
    statutory: bool
    clause: str | None = None  # the clause that holds the item's number

    def as_json(self) -> dict[str, Any]:
        """The JSON leaves out the clause (the text view's)."""
        return {"due": self.due.isoformat(), "kind": self.kind, "what": self.what,
                "overdue": self.overdue, "statutory": self.statutory}


def items(session: Session, on: date | None = None) -> list[Item]:
    """Everything due, oldest first; an item whose day has passed is marked overdue."""
    from swp.services.meetings import KIND_NAMES, last_agm, notice_days

    on = on or today()
    practice = get_practice(session)
    clauses = load_clauses(session)
    registered = practice.founded_at.date()
    found: list[Item] = []

    last = last_agm(session)
    due = agm_due(registered, last.date if last else None, clauses)
    since = f"the last on {last.date}" if last else f"registration on {registered}"
    found.append(Item(due, "agm", f"annual general meeting held by this day ({since})",
                      due < on, True, "meetings.agm-interval-months" if last else
                      "meetings.first-agm-months"))
    pending = list(session.execute(select(Meeting).where(col(Meeting.status) != "closed")
                                   .order_by(col(Meeting.date), col(Meeting.id))).scalars())
    if not any(m.kind == "agm" for m in pending):
        notice_by = due - timedelta(days=notice_days(clauses) + 1)
        found.append(Item(notice_by, "agm-notice",
                          f"last day to give notice of an annual general meeting held by {due}",
                          notice_by < on, False))
    for m in pending:
        state = "not yet given notice of" if m.notice_given_on is None else m.status
        found.append(Item(m.date, "meeting", f"{KIND_NAMES[m.kind].lower()} #{m.id} at {m.place} "
                                             f"({state})", m.date < on, False))
        for proposal in session.execute(
                select(Proposal).join(MeetingItem, col(Proposal.id) == col(MeetingItem.proposal_id))
                .where(col(MeetingItem.meeting_id) == m.id, col(Proposal.status) == "open")).scalars():
            found.append(Item(m.date, "proposal", f"proposal #{proposal.id} ({proposal.title}) "
                                                  f"decided at meeting #{m.id}", m.date < on, False))
    for p in session.execute(select(Proposal).where(col(Proposal.status) == "open",
                                                    col(Proposal.written).is_(True))).scalars():
        assert p.lapses_on is not None
        found.append(Item(p.lapses_on - timedelta(days=1), "written",
                          f"last day to sign written resolution #{p.id} ({p.title}); it lapses "
                          f"on {p.lapses_on}", p.lapses_on <= on, False))
    months = int(clauses.get("reporting.annual-return-months", "7"))
    filed = set(session.execute(select(col(Filing.year_end)).where(col(Filing.kind) == "annual-return"))
                .scalars())
    for end in year_ends(registered, practice.fiscal_year_start, on + timedelta(days=366)):
        if end in filed:
            continue
        deadline = add_months(end, months)
        found.append(Item(deadline, "annual-return",
                          f"annual return and accounts for the year ended {end}", deadline < on,
                          True, "reporting.annual-return-months"))
    for c in session.execute(select(Contract).where(
            col(Contract.end) >= on, col(Contract.end) <= on + timedelta(days=CONTRACT_HORIZON_DAYS))
            .order_by(col(Contract.end))).scalars():
        found.append(Item(c.end, "contract", f"contract {c.ref} with {c.authority} ends", False,
                          False))
    return sorted(found, key=lambda i: (i.due, i.kind, i.what))


def overdue_statutory(session: Session, on: date | None = None) -> list[Item]:
    return [i for i in items(session, on) if i.overdue and i.statutory]


def record_filing(session: Session, *, actor: str | None, year_end: date, filed_on: date) -> Item:
    """Record that the annual return for the year ended `year_end` was filed on `filed_on`."""
    from swp.services.roles import require_manager

    require_manager(session, actor, "recording a filing")
    practice = get_practice(session)
    on = today()
    if year_end_after(year_end, practice.fiscal_year_start) != year_end:
        raise InputError(f"{year_end} is not a financial year end of the practice (its year starts "
                         f"on {practice.fiscal_year_start})")
    if year_end >= on:
        raise InputError(f"the year ending {year_end} has not ended yet (today is {on})")
    if filed_on > on or filed_on <= year_end:
        raise InputError(f"filed on {filed_on}: a filing is made after the year end and not after "
                         f"today ({on})")
    if session.execute(select(Filing).where(col(Filing.kind) == "annual-return",
                                            col(Filing.year_end) == year_end)).first():
        raise PreconditionError(f"the annual return for the year ended {year_end} is already recorded")
    session.add(Filing(kind="annual-return", year_end=year_end, filed_on=filed_on,
                       recorded_by=actor, recorded_at=now()))
    session.flush()
    audit.act(session, "annual-return.filed", {"year_end": year_end, "filed_on": filed_on})
    months = int(load_clauses(session).get("reporting.annual-return-months", "7"))
    deadline = add_months(year_end, months)
    return Item(deadline, "annual-return", f"annual return for the year ended {year_end} filed on "
                                            f"{filed_on}" + (" (late)" if filed_on > deadline else ""),
                False, True)
