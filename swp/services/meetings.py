"""General meetings: called with notice, opened with a quorum present, closed with every item
on the agenda decided and the reason recorded, and minuted.

The lifecycle: `call` (the date must leave `meetings.notice-days` clear days from today; the
agenda is every open proposal that is not a written resolution), `notice` (the document; the
first one records the day notice was given, again checked for clear days), `open` on the day
(attendance recorded, quorum checked on it: the larger of 2 and `governance.quorum-percent` of
the current members), `vote` (only by a member recorded as attending), `close` (each agenda
proposal closed as `swp proposal close` would, with its reason), `minutes`.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass
from datetime import date
from datetime import date as _date  # for fields of classes that have a field named date
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlmodel import col

from swp import rules
from swp.clock import now, today
from swp.dates import clear_days, earliest_after_notice
from swp.errors import InputError, NotFound, PreconditionError
from swp.models import Attendance, Meeting, MeetingItem, Member, Proposal
from swp.services import audit
from swp.services.practice import get_practice, load_clauses
from swp.services.roles import current_members, require_member
from swp.text import plain_text

if TYPE_CHECKING:
    from collections.abc import Mapping

    from sqlalchemy.orm import Session

    from swp.services.governance import ProposalView, VoteCast

KINDS = ("agm", "general")
KIND_NAMES = {"agm": "Annual general meeting", "general": "General meeting"}


def notice_days(clauses: Mapping[str, str]) -> int:
    return int(clauses.get("meetings.notice-days", "14"))


@dataclass(frozen=True)
class ItemView:
    position: int
    proposal: int
    title: str
    kind: str
    summary: str
    status: str
    decision: str | None
    reason: str | None
    yes: int | None
    no: int | None
    abstain: int | None


@dataclass(frozen=True)
class MeetingView:
    id: int
    kind: str
    date: date
    place: str
    online: str | None
    status: str
    called_by: str | None
    called_on: _date
    notice_given_on: _date | None
    closed_on: _date | None
    members: int | None
    quorum_needed: int | None
    audit_seq: int | None
    audit_head: str | None
    agenda: tuple[ItemView, ...]
    attendance: tuple[tuple[str, str, str], ...]  # handle, name, mode

    @property
    def title(self) -> str:
        return f"{KIND_NAMES[self.kind]} #{self.id}, {self.date.isoformat()}"

    def as_json(self) -> dict[str, Any]:
        """The JSON writes the attendance as objects."""
        return {"id": self.id, "kind": self.kind, "date": self.date.isoformat(),
                "place": self.place, "online": self.online, "status": self.status,
                "called_by": self.called_by, "called_on": self.called_on.isoformat(),
                "notice_given_on": self.notice_given_on.isoformat() if self.notice_given_on else None,
                "closed_on": self.closed_on.isoformat() if self.closed_on else None,
                "members": self.members, "quorum_needed": self.quorum_needed,
                "audit_seq": self.audit_seq, "audit_head": self.audit_head,
                "agenda": list(self.agenda),
                "attendance": [{"member": h, "name": n, "mode": m} for h, n, m in self.attendance]}


def _get(session: Session, meeting_id: int) -> Meeting:
    meeting = session.get(Meeting, meeting_id)
    if meeting is None:
        raise NotFound(f"no meeting #{meeting_id}; 'swp meeting list' lists them")
    return meeting


def _view(session: Session, meeting: Meeting) -> MeetingView:
    from swp.services.governance import describe

    items = []
    assert meeting.id is not None  # a stored meeting
    for item, proposal in session.execute(
            select(MeetingItem, Proposal).join(Proposal, col(Proposal.id) == col(MeetingItem.proposal_id))
            .where(col(MeetingItem.meeting_id) == meeting.id).order_by(col(MeetingItem.position))).all():
        assert proposal.id is not None  # a stored proposal
        items.append(ItemView(item.position, proposal.id, proposal.title, proposal.kind,
                              describe(proposal.action, proposal.clause, proposal.value,
                                       proposal.target, proposal.target_kind),
                              proposal.status, item.decision, item.reason, proposal.yes,
                              proposal.no, proposal.abstain))
    present = session.execute(
        select(col(Member.handle), col(Member.name), col(Attendance.mode))
        .join(Attendance, col(Attendance.member_id) == col(Member.id))
        .where(col(Attendance.meeting_id) == meeting.id).order_by(col(Member.handle))).all()
    return MeetingView(meeting.id, meeting.kind, meeting.date, meeting.place, meeting.online,
                       meeting.status, meeting.called_by, meeting.called_on,
                       meeting.notice_given_on, meeting.closed_on, meeting.members,
                       meeting.quorum_needed, meeting.audit_seq, meeting.audit_head,
                       tuple(items), tuple((h, n, m) for h, n, m in present))


def _too_short(on: date, clear: int, given: date) -> InputError | None:
    if clear_days(given, on) >= clear:
        return None
    earliest = earliest_after_notice(given, clear)
    return InputError(f"a meeting on {on} leaves {max(clear_days(given, on), 0)} clear days' notice; "
                      f"meetings.notice-days needs {clear}: the earliest lawful date is {earliest}")


def call(session: Session, *, actor: str | None, kind: str, on: date, place: str,
         online: str | None = None) -> MeetingView:
    """Call a general meeting: refused if it is in the past or the notice would be too short."""
    kind = (kind or "").strip().lower()
    if kind not in KINDS:
        raise InputError(f"not a kind of meeting: {kind!r}; agm or general")
    place = plain_text(place, "the place (--place)", required=True)
    online = plain_text(online, "the online link (--online)")
    if online is not None and (not online.lower().startswith(("https://", "http://"))
                               or " " in online):
        raise InputError(f"not a web address: {online!r}; e.g. https://meet.example.org/agm")
    caller = require_member(session, actor, "calling a meeting")
    given = today()
    if on < given:
        raise InputError(f"{on} is in the past (today is {given}); a meeting is called for a "
                         "future date")
    problem = _too_short(on, notice_days(load_clauses(session)), given)
    if problem is not None:
        raise problem
    meeting = Meeting(kind=kind, date=on, place=place, online=online, status="called",
                      called_by=caller.handle, called_on=given, called_at=now())
    session.add(meeting)
    session.flush()
    agenda = list(session.execute(
        select(Proposal).where(col(Proposal.status) == "open", col(Proposal.written).is_not(True))
        .order_by(col(Proposal.id))).scalars())
    assert meeting.id is not None  # flushed
    for position, proposal in enumerate(agenda, start=1):
        assert proposal.id is not None  # a stored proposal
        session.add(MeetingItem(meeting_id=meeting.id, proposal_id=proposal.id, position=position))
    session.flush()
    audit.act(session, "meeting.called", {"meeting": meeting.id, "kind": kind, "date": on,
                                          "place": place, "online": online,
                                          "agenda": [p.id for p in agenda]})
    return _view(session, meeting)


def list_meetings(session: Session) -> list[MeetingView]:
    return [_view(session, m) for m in
            session.execute(select(Meeting).order_by(col(Meeting.date), col(Meeting.id))).scalars()]


def show(session: Session, meeting_id: int) -> MeetingView:
    return _view(session, _get(session, meeting_id))


@dataclass(frozen=True)
class NoticeFacts:
    meeting: MeetingView
    practice: str
    members: int
    quorum_needed: int
    notice_days: int
    proposals: tuple[ProposalView, ...]  # in agenda order
    first: bool  # this notice is the one that gave notice


def give_notice(session: Session, *, actor: str | None, meeting_id: int) -> NoticeFacts:
    """The notice of a called meeting. The first notice records the day notice was given
    (refused if the meeting is now too close for the clear days the constitution needs)."""
    from swp.services import governance

    require_member(session, actor, "giving notice of a meeting")
    meeting = _get(session, meeting_id)
    if meeting.status != "called":
        raise PreconditionError(f"meeting #{meeting.id} is {meeting.status}; notice is given before "
                                "it opens")
    clauses = load_clauses(session)
    clear = notice_days(clauses)
    first = meeting.notice_given_on is None
    if first:
        given = today()
        problem = _too_short(meeting.date, clear, given)
        if problem is not None:
            raise PreconditionError(f"notice given today is too short: {problem.message}; call the "
                                    "meeting again for a later date") from None
        meeting.notice_given_on = given
        session.add(meeting)
        session.flush()
        audit.act(session, "meeting.notice-given", {"meeting": meeting.id, "on": given,
                                                    "date": meeting.date})
    view = _view(session, meeting)
    electorate = len(current_members(session))
    return NoticeFacts(view, get_practice(session).name, electorate,
                       rules.quorum_needed(clauses, electorate), clear,
                       tuple(governance.show(session, i.proposal) for i in view.agenda), first)


def _attendee(session: Session, handle: str, on: date) -> Member:
    from swp.services.roles import find_member

    member = find_member(session, handle)
    if member.left_on is not None and member.left_on < on:
        raise PreconditionError(f"{handle} left the practice on {member.left_on}; only members "
                                "attend a general meeting")
    return member


def open_meeting(session: Session, *, actor: str | None, meeting_id: int, present: list[str],
                 online: list[str]) -> MeetingView:
    """Open a meeting on its day with the members present (in person or online), if they are
    a quorum."""
    require_member(session, actor, "opening a meeting")
    meeting = _get(session, meeting_id)
    if meeting.status != "called":
        raise PreconditionError(f"meeting #{meeting.id} is already {meeting.status}")
    if meeting.notice_given_on is None:
        raise PreconditionError(f"no notice of meeting #{meeting.id} was given; "
                                f"'swp meeting notice {meeting.id}' gives it")
    on = today()
    if on != meeting.date:
        raise PreconditionError(f"meeting #{meeting.id} is on {meeting.date}, not today ({on})"
                                + ("; call it again for a new date" if on > meeting.date else ""))
    handles = [h.strip() for h in present] + [h.strip() for h in online]
    twice = sorted({h for h in handles if handles.count(h) > 1})
    if twice:
        raise InputError(f"recorded twice: {', '.join(twice)}; each member attends once")
    attendees = [(_attendee(session, h, on), "person") for h in present] + \
                [(_attendee(session, h, on), "online") for h in online]
    clauses = load_clauses(session)
    electorate = len(current_members(session, on))
    needed = rules.quorum_needed(clauses, electorate)
    if len(attendees) < needed:
        raise PreconditionError(f"not quorate: {len(attendees)} present of the {needed} needed "
                                f"({electorate} members); the meeting cannot open")
    assert meeting.id is not None  # a stored meeting
    for member, mode in attendees:
        assert member.id is not None  # a stored member
        session.add(Attendance(meeting_id=meeting.id, member_id=member.id, mode=mode,
                               recorded_at=now()))
    meeting.status = "open"
    meeting.opened_at = now()
    meeting.members = electorate
    meeting.quorum_needed = needed
    session.add(meeting)
    session.flush()
    audit.act(session, "meeting.opened", {"meeting": meeting.id, "members": electorate,
                                          "quorum_needed": needed,
                                          "present": [[m.handle, mode] for m, mode in attendees]})
    return _view(session, meeting)


def attend(session: Session, *, actor: str | None, meeting_id: int, handle: str,
           mode: str) -> MeetingView:
    """Record a member who arrives after the meeting opened."""
    require_member(session, actor, "recording attendance")
    meeting = _get(session, meeting_id)
    if meeting.status != "open":
        raise PreconditionError(f"meeting #{meeting.id} is {meeting.status}; attendance is recorded "
                                "while it is open")
    member = _attendee(session, handle, today())
    if session.execute(select(Attendance).where(col(Attendance.meeting_id) == meeting.id,
                                                col(Attendance.member_id) == member.id)).first():
        raise PreconditionError(f"{handle} is already recorded as attending")
    assert meeting.id is not None and member.id is not None  # stored rows
    session.add(Attendance(meeting_id=meeting.id, member_id=member.id, mode=mode,
                           recorded_at=now()))
    session.flush()
    audit.act(session, "meeting.attended", {"meeting": meeting.id, "member": handle, "mode": mode})
    return _view(session, meeting)


def _item(session: Session, meeting: Meeting, proposal_id: int) -> MeetingItem:
    item = session.execute(select(MeetingItem).where(
        col(MeetingItem.meeting_id) == meeting.id, col(MeetingItem.proposal_id) == proposal_id)
    ).scalar_one_or_none()
    if item is None:
        raise InputError(f"proposal #{proposal_id} is not on the agenda of meeting #{meeting.id}")
    return item


def vote(session: Session, *, actor: str | None, meeting_id: int, proposal_id: int, choice: str) -> VoteCast:
    """A vote taken at the meeting: only by a member recorded as attending it."""
    from swp.services import governance

    meeting = _get(session, meeting_id)
    if meeting.status != "open":
        raise PreconditionError(f"meeting #{meeting.id} is {meeting.status}; votes are taken while "
                                "it is open")
    _item(session, meeting, proposal_id)
    member = None if actor is None else session.execute(
        select(Member).where(col(Member.handle) == actor)).scalar_one_or_none()
    attended = member is not None and session.execute(select(Attendance).where(
        col(Attendance.meeting_id) == meeting.id, col(Attendance.member_id) == member.id)).first()
    if not attended:
        raise InputError(f"{actor or 'nobody'} is not recorded as attending meeting #{meeting.id}; "
                         f"'swp meeting attend {meeting.id} HANDLE' records a late arrival")
    cast = governance.vote(session, actor=actor, proposal_id=proposal_id, choice=choice)
    audit.act(session, "meeting.vote", {"meeting": meeting.id, "proposal": proposal_id,
                                        "member": actor, "choice": cast.choice})
    return cast


def close(session: Session, *, actor: str | None, meeting_id: int,
          reasons: dict[int, str]) -> MeetingView:
    """Close the meeting: every open proposal on its agenda is decided (as `swp proposal close`
    decides it) with its reason; the audit head at the close is recorded for the minutes."""
    from swp.services import governance

    require_member(session, actor, "closing a meeting")
    meeting = _get(session, meeting_id)
    if meeting.status != "open":
        raise PreconditionError(f"meeting #{meeting.id} is {meeting.status}; only an open meeting "
                                "is closed")
    items = list(session.execute(select(MeetingItem).where(col(MeetingItem.meeting_id) == meeting.id)
                                 .order_by(col(MeetingItem.position))).scalars())
    on_agenda = {i.proposal_id for i in items}
    stray = sorted(set(reasons) - on_agenda)
    if stray:
        raise InputError(f"proposal #{stray[0]} is not on the agenda of meeting #{meeting.id}")
    cleaned = {pid: plain_text(text, f"the reason for proposal #{pid}") for pid, text in reasons.items()}
    # every item names a stored proposal (a foreign key)
    to_decide = [i for i in items if typing.cast(Proposal, session.get(Proposal, i.proposal_id)).status == "open"]
    missing = [i.proposal_id for i in to_decide if not cleaned.get(i.proposal_id)]
    if missing:
        raise InputError("each decision needs its reason: add "
                         + " ".join(f'--reason {pid}="..."' for pid in missing))
    decided = []
    for item in items:
        proposal = session.get(Proposal, item.proposal_id)
        assert proposal is not None and proposal.id is not None  # every item names a stored proposal
        if proposal.status == "open":
            result = governance.close(session, actor=actor, proposal_id=proposal.id)
            item.decision, item.reason = result.status, cleaned[proposal.id]
        else:
            item.decision = proposal.status
            item.reason = cleaned.get(proposal.id) or \
                f"decided before the meeting, on {proposal.closed_on}"
        session.add(item)
        decided.append([proposal.id, item.decision])
    session.flush()
    seq, head = audit.head(session)
    meeting.status = "closed"
    meeting.closed_on = today()
    meeting.closed_at = now()
    meeting.audit_seq, meeting.audit_head = seq, head
    session.add(meeting)
    session.flush()
    audit.act(session, "meeting.closed", {"meeting": meeting.id, "decisions": decided,
                                          "audit_seq": seq, "audit_head": head})
    return _view(session, meeting)


def minutes_of(session: Session, meeting_id: int) -> tuple[MeetingView, str]:
    """A closed meeting, for its minutes (refused until it is closed)."""
    meeting = _get(session, meeting_id)
    if meeting.status != "closed":
        raise PreconditionError(f"meeting #{meeting.id} is not closed yet ({meeting.status}); "
                                "minutes are written after the close")
    return _view(session, meeting), get_practice(session).name


def last_agm(session: Session) -> Meeting | None:
    return session.execute(select(Meeting).where(col(Meeting.kind) == "agm", col(Meeting.status) == "closed")
                           .order_by(col(Meeting.date).desc()).limit(1)).scalar_one_or_none()
