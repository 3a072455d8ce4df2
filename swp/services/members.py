"""The member register: admissions, changes of role/hours/pay (kept as history), leaving."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import func, select
from sqlmodel import col

from swp import rules
from swp.clock import now, today
from swp.errors import InputError, PermissionDenied, PreconditionError, RuleViolation
from swp.models import Member, MemberFact
from swp.services import audit
from swp.services.roles import (
    check_role,
    current_managers,
    current_members,
    ever_had_manager,
    find_member,
    latest_facts,
    require_manager,
)
from swp.text import plain_text

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

_HANDLE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,31}$")


@dataclass(frozen=True)
class MemberView:
    handle: str
    name: str
    role: str
    hours_hundredths: int
    pay_pence: int
    employed_since: date
    left_on: date | None
    registration: str | None
    active: bool
    key_fingerprint: str | None = None

    def as_json(self) -> dict[str, Any]:
        """The JSON writes hours as text and leaves out the registration and key."""
        return {
            "handle": self.handle, "name": self.name, "role": self.role,
            "hours": rules.format_hours(self.hours_hundredths), "pay_pence": self.pay_pence,
            "employed_since": self.employed_since.isoformat(),
            "left_on": self.left_on.isoformat() if self.left_on else None,
            "active": self.active,
        }


@dataclass(frozen=True)
class FactView:
    effective: date
    role: str
    hours_hundredths: int
    pay_pence: int


def _view(member: Member, fact: MemberFact, on: date) -> MemberView:
    active = member.left_on is None or member.left_on >= on
    return MemberView(member.handle, member.name, fact.role, fact.hours_hundredths,
                      fact.pay_pence, member.employed_since, member.left_on,
                      member.registration, active, member.key_fingerprint)


def roster(session: Session) -> list[rules.Person]:
    """The current members as the rules see them (latest facts)."""
    members = current_members(session)
    ids = [cast(int, m.id) for m in members]  # stored members: ids are set
    facts = latest_facts(session, ids)
    return [rules.Person(m.handle, m.name, facts[i].role, facts[i].hours_hundredths,
                         m.employed_since, m.left_on, registration=m.registration)
            for m, i in zip(members, ids, strict=True)]


def check_handle(handle: str) -> str:
    if not _HANDLE.match(handle or ""):
        raise InputError(f"not a handle: {handle!r}; use 1-32 lower-case letters, digits, . _ -")
    return handle


def admit(session: Session, *, actor: str | None, handle: str, name: str, role: str,
          employed_since: date, hours_hundredths: int, pay_pence: int = 0,
          registration: str | None = None, public_key: str | None = None) -> MemberView:
    """Admit an employee as a member, if every rule allows it (else RuleViolation, exit 3).
    `public_key` (hex) is the newcomer's key, enrolled by this admission."""
    require_manager(session, actor, "managing members")
    check_handle(handle)
    name = plain_text(name, "the name (--name)") or ""
    if not name:
        raise InputError("a member needs a name (--name)")
    from swp.services.practice import load_clauses  # (not for a list: its tables' classes)

    clauses = load_clauses(session)
    check_role(role.strip().lower())
    if registration is not None and registration.strip():
        registration = rules.registration_number(registration) or registration.strip()
    else:
        registration = None
    candidate = rules.Person(handle, name.strip(), role.strip().lower(), hours_hundredths,
                             employed_since, registration=registration)
    rules.refuse(rules.admission_violations(clauses, roster(session), candidate, on=today()))
    rules.refuse(rules.admission_authority_violations(
        handle, candidate.role, has_manager=bool(current_managers(session)),
        founding=not ever_had_manager(session), agreed_roles=_agreed_roles(session, handle)))
    existing = session.execute(select(Member).where(col(Member.handle) == handle)).scalar_one_or_none()
    if existing is not None:
        raise PreconditionError(f"the handle {handle!r} is taken (by {existing.name}); "
                                "a membership is never reused or inherited")
    if public_key is None:
        raise PreconditionError(f"{handle}'s public key is needed to admit them: they run "
                                f"'swp --as {handle} key new' and give you what it prints "
                                "(--public-key)")
    from swp.identity import fingerprint

    member = Member(handle=handle, name=name.strip(), employed_since=employed_since,
                    registration=registration, admitted_at=now(), public_key=public_key,
                    key_fingerprint=fingerprint(public_key))
    session.add(member)
    session.flush()
    assert member.id is not None  # flushed
    fact = MemberFact(member_id=member.id, effective=employed_since, role=candidate.role,
                      hours_hundredths=hours_hundredths, pay_pence=pay_pence)
    session.add(fact)
    session.flush()
    audit.act(session, "member.admitted", {
        "handle": handle, "id": member.id, "name": member.name,
        "employed_since": employed_since, "registration": registration,
        "public_key": public_key, "fact_id": fact.id, "role": fact.role,
        "hours_hundredths": hours_hundredths, "pay_pence": pay_pence})
    return _view(member, fact, today())


def _agreed_roles(session: Session, handle: str) -> list[str]:
    """The roles in which passed resolutions agreed to admit `handle`."""
    from swp.models import Proposal

    return [str(v) for v in session.execute(
        select(col(Proposal.value)).where(col(Proposal.action) == "amend", col(Proposal.clause) == "member.admit",
                                          col(Proposal.target) == handle, col(Proposal.status) == "passed"))
        .scalars()]


def list_members(session: Session, *, include_former: bool = False) -> list[MemberView]:
    on = today()
    query = select(Member).order_by(col(Member.handle))
    members = list(session.execute(query).scalars())
    facts = latest_facts(session)
    views = [_view(m, facts[cast(int, m.id)], on) for m in members]  # stored: ids are set
    return views if include_former else [v for v in views if v.active]


def show(session: Session, handle: str) -> tuple[MemberView, list[FactView]]:
    member = find_member(session, handle)
    history = list(session.execute(
        select(MemberFact).where(col(MemberFact.member_id) == member.id)
        .order_by(col(MemberFact.effective))
    ).scalars())
    return (_view(member, history[-1], today()),
            [FactView(f.effective, f.role, f.hours_hundredths, f.pay_pence) for f in history])


def update(session: Session, *, actor: str | None, handle: str, effective: date,
           hours_hundredths: int | None = None, pay_pence: int | None = None,
           role: str | None = None, by_resolution: bool = False) -> MemberView:
    """Record a change of hours, pay or role from `effective` on (a new history row).

    Becoming a practitioner is decided by the members (`by_resolution`, from a passed
    resolution), never by a manager alone."""
    if not by_resolution:
        require_manager(session, actor, "managing members")
    if hours_hundredths is None and pay_pence is None and role is None:
        raise InputError("nothing to change: give --hours, --pay or --role")
    member = find_member(session, handle)
    assert member.id is not None  # a stored member
    if member.left_on is not None:
        raise PreconditionError(f"{handle} left on {member.left_on}; a former member cannot change")
    if effective < member.employed_since:
        raise InputError(f"{effective} is before {handle} was employed ({member.employed_since})")
    from swp.services.sharing.closing import last_closed_end

    closed_end = last_closed_end(session, member.id)
    if closed_end is not None and effective <= closed_end:
        raise PreconditionError(f"{effective} falls in a closed period (closed to {closed_end}); "
                                "changes take effect after it")
    history = list(session.execute(
        select(MemberFact).where(col(MemberFact.member_id) == member.id)
        .order_by(col(MemberFact.effective))
    ).scalars())
    if any(f.effective == effective for f in history):
        raise PreconditionError(f"{handle} already has a change effective on {effective}")
    later = [f for f in history if f.effective > effective]
    if later:
        raise PreconditionError(f"{handle} already has a change effective on {later[-1].effective}; "
                                "record changes in date order")
    base = history[-1]
    new_role = role.strip().lower() if role is not None else base.role
    check_role(new_role)
    new_hours = hours_hundredths if hours_hundredths is not None else base.hours_hundredths
    new_pay = pay_pence if pay_pence is not None else base.pay_pence
    changed = rules.Person(member.handle, member.name, new_role, new_hours,
                           member.employed_since, member.left_on, registration=member.registration)
    from swp.services.practice import load_clauses

    rules.refuse(rules.change_violations(load_clauses(session), roster(session), changed,
                                         by_resolution=by_resolution))
    fact = MemberFact(member_id=member.id, effective=effective, role=new_role,
                      hours_hundredths=new_hours, pay_pence=new_pay)
    session.add(fact)
    session.flush()
    audit.act(session, "member.updated", {
        "handle": handle, "fact_id": fact.id, "effective": effective, "role": new_role,
        "hours_hundredths": new_hours, "pay_pence": new_pay})
    return _view(member, fact, today())


def leave(session: Session, *, actor: str | None, handle: str, on: date,
          reason: str | None = None) -> MemberView:
    """A member resigns: their membership ends on the day they give (the last day,
    inclusive). Their key is revoked from the day after: it signs nothing dated
    later. Only the member themselves may do it; ending someone else's membership is the
    members' decision, by a passed resolution (`proposal new --expel`)."""
    if actor is None:
        raise PermissionDenied(f"leaving needs --as {handle}: a member resigns for themselves")
    member = find_member(session, handle)
    assert member.id is not None  # a stored member
    if member.left_on is not None:
        raise PreconditionError(f"{handle} already left on {member.left_on}")
    if on < member.employed_since:
        raise InputError(f"{on} is before {handle} was employed ({member.employed_since})")
    rules.refuse(rules.leave_violations(actor, handle))
    from swp.models import Vote
    from swp.services.sharing.closing import last_closed_end

    closed_end = last_closed_end(session, member.id)
    if closed_end is not None and on < closed_end:
        raise PreconditionError(f"{handle} was counted as a member to {closed_end} in a closed "
                                "period; the leaving date must be on or after it")
    last_vote = session.execute(
        select(func.max(col(Vote.cast_on))).where(col(Vote.member_id) == member.id)).scalar_one()
    if last_vote is not None and on < last_vote:
        raise PreconditionError(f"{handle} voted on {last_vote}; the leaving date must be on or "
                                "after it (a vote is never taken back by leaving)")
    member.left_on = on
    member.leave_reason = reason
    session.add(member)
    session.flush()
    audit.act(session, "member.left", {"handle": handle, "left_on": on, "reason": reason})
    facts = latest_facts(session, [member.id])
    return _view(member, facts[member.id], today())


def transfer(session: Session, *, handle: str, to: str) -> None:
    """Always refused: a membership cannot be transferred, sold, lent or inherited."""
    raise RuleViolation("non-transferable",
                        f"the membership of {handle} cannot be transferred to {to}; it ends when "
                        "their employment ends")
