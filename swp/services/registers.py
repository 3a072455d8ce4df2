"""The statutory registers: of members (name, postal address, electronic address and the
purposes it was given for, date admitted, date ceased, shares held: none, ever) and of
officers; and the contact details they are made from.

Addresses and emails are personal data: a member's own, or a manager, may record them; the
register documents are written 0600; lists of members print them only when asked.

A member's date admitted is their first day of employment (`employed_since`); their date
ceased is their last day of membership (`left_on`). As at a date D, the register holds every
member admitted on or before D, with the date ceased of those whose last day is on or before
D (a member whose last day is D was still a member on D). The addresses are the ones held now:
swp keeps no history of addresses. The officers are the members who hold the manager role,
from the member history (the business manager and any other manager), with the days they held
it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from sqlalchemy import select
from sqlmodel import col

from swp.clock import today
from swp.errors import InputError, PreconditionError
from swp.models import Member, MemberFact
from swp.services import audit
from swp.services.practice import get_practice
from swp.services.roles import find_member, require_manager
from swp.text import plain_text

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+\Z")
_PURPOSE = re.compile(r"[a-z][a-z-]{0,30}\Z")
SHARES_HELD = "none"  # the practice has no share capital of any kind


@dataclass(frozen=True)
class Contact:
    handle: str
    name: str
    address: str | None
    email: str | None
    email_purposes: tuple[str, ...]


def purposes_of(member: Member) -> tuple[str, ...]:
    return tuple(p for p in (member.email_purposes or "").split(",") if p)


def contact(member: Member) -> Contact:
    return Contact(member.handle, member.name, member.address, member.email, purposes_of(member))


def _purposes(items: tuple[str, ...]) -> str:
    for item in items:
        if not _PURPOSE.match(item):
            raise InputError(f"not a purpose: {item!r}; write words such as notices,statements")
    return ",".join(dict.fromkeys(items))


def set_contact(session: Session, *, actor: str | None, handle: str, address: str | None = None,
                email: str | None = None, purposes: tuple[str, ...] | None = None) -> Contact:
    """Record a member's postal address, email and the purposes the email may be used for
    (an empty value clears it; no purposes clear them). A member may record their own; a
    manager anyone's."""
    if address is not None:  # given empty (once stripped): cleared, not left as it was
        address = plain_text(address, "the address (--address)") or ""
    if email is not None:
        email = plain_text(email, "the email (--email)") or ""
        if email and not _EMAIL.match(email):
            raise InputError(f"not an email address: {email!r}")
    joined = _purposes(purposes) if purposes is not None else None
    member = find_member(session, handle)
    if not (actor is not None and actor == handle and _is_current(member)):
        require_manager(session, actor, "recording another member's address")  # or your own
    before = contact(member)
    if address is not None:
        member.address = address or None
    if email is not None:
        member.email = email or None
    if joined is not None:
        member.email_purposes = joined or None
    if member.email is None and member.email_purposes:
        raise PreconditionError(f"{handle} has no email: give --email with --email-purposes")
    session.add(member)
    session.flush()
    after = contact(member)
    audit.act(session, "member.contact-recorded", {
        "member": handle, "changed": [k for k in ("address", "email", "email_purposes")
                                      if getattr(before, k) != getattr(after, k)]})
    return after


def own_contact(session: Session, *, actor: str | None, handle: str) -> Contact | None:
    """A member's register details, for the member themselves or a manager (anyone until the
    practice has a manager); None for anyone else."""
    from swp.services.roles import current_managers

    member = find_member(session, handle)
    managers = current_managers(session)
    if actor == handle or actor in managers or not managers:
        return contact(member)
    return None


def _is_current(member: Member) -> bool:
    return member.left_on is None or member.left_on >= today()


def contacts(session: Session) -> dict[str, Contact]:
    return {m.handle: contact(m) for m in session.execute(select(Member)).scalars()}


@dataclass(frozen=True)
class RegisterRow:
    handle: str
    name: str
    address: str | None
    email: str | None
    email_purposes: tuple[str, ...]
    admitted: date
    ceased: date | None
    shares_held: str = SHARES_HELD


Row = TypeVar("Row", "RegisterRow", "OfficerRow")


@dataclass(frozen=True)
class Register(Generic[Row]):
    practice: str
    as_at: date
    kind: str  # members | officers
    rows: tuple[Row, ...]
    registered: date  # the practice's registration date (its founding in swp)


def members_register(session: Session, as_at: date | None = None) -> Register[RegisterRow]:
    as_at = as_at or today()
    practice = get_practice(session)
    rows: list[RegisterRow] = []
    for m in session.execute(select(Member).where(col(Member.employed_since) <= as_at)
                             .order_by(col(Member.employed_since), col(Member.handle))).scalars():
        ceased = m.left_on if m.left_on is not None and m.left_on <= as_at else None
        rows.append(RegisterRow(m.handle, m.name, m.address, m.email, purposes_of(m),
                                m.employed_since, ceased))
    return Register(practice.name, as_at, "members", tuple(rows), practice.founded_at.date())


@dataclass(frozen=True)
class OfficerRow:
    handle: str
    name: str
    office: str
    address: str | None
    start: date
    end: date | None

    def as_json(self) -> dict[str, Any]:
        """The JSON names start and end from and to."""
        return {"handle": self.handle, "name": self.name, "office": self.office,
                "address": self.address, "from": self.start.isoformat(),
                "to": self.end.isoformat() if self.end else None}


def officers_register(session: Session, as_at: date | None = None) -> Register[OfficerRow]:
    """Every stretch of the member history in which a member held the manager role, begun on
    or before `as_at`."""
    as_at = as_at or today()
    practice = get_practice(session)
    members = {m.id: m for m in session.execute(select(Member)).scalars()}
    facts: dict[int, list[MemberFact]] = {}
    for fact in session.execute(select(MemberFact).order_by(col(MemberFact.member_id),
                                                            col(MemberFact.effective))).scalars():
        facts.setdefault(fact.member_id, []).append(fact)
    rows: list[tuple[Member, date, date | None]] = []
    for member_id, history in facts.items():
        m = members[member_id]
        start = None
        for fact in history:
            if fact.role == "manager" and start is None:
                start = fact.effective
            if fact.role != "manager" and start is not None:
                rows.append((m, start, fact.effective - timedelta(days=1)))
                start = None
        if start is not None:
            rows.append((m, start, m.left_on))
    out = []
    for m, start, end in sorted(rows, key=lambda r: (r[1], r[0].handle)):
        if start > as_at:
            continue
        out.append(OfficerRow(m.handle, m.name, "manager", m.address, start,
                              end if end is not None and end <= as_at else None))
    return Register(practice.name, as_at, "officers", tuple(out), practice.founded_at.date())


def statement_lines(member: Member) -> tuple[tuple[str, str], ...]:
    """What the register of members holds about a member, for their own statement."""
    return (("Name", member.name), ("Postal address", member.address or "not recorded"),
            ("Email", member.email or "not recorded"),
            ("Email may be used for", ", ".join(purposes_of(member)) or "-"),
            ("Admitted", member.employed_since.isoformat()),
            ("Ceased", member.left_on.isoformat() if member.left_on else "-"),
            ("Shares held", SHARES_HELD))
