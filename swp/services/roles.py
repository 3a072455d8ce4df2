"""Who may do what (SPEC section 8): once the practice has a manager, the business side needs
--as a current manager; proposing and voting need --as a current member."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, cast

from sqlalchemy import or_, select
from sqlmodel import col

from swp.clock import today
from swp.errors import NotFound, PermissionDenied
from swp.models import Member, MemberFact

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


def current_members(session: Session, on: date | None = None) -> list[Member]:
    """Members who have not left before `on` (today): admitted, and still employed."""
    on = on or today()
    query = select(Member).where(or_(col(Member.left_on).is_(None), col(Member.left_on) >= on))
    return list(session.execute(query.order_by(col(Member.handle))).scalars())


def latest_facts(session: Session, member_ids: list[int] | None = None) -> dict[int, MemberFact]:
    """Each member's latest role/hours/pay row (by effective date)."""
    query = select(MemberFact).order_by(col(MemberFact.member_id), col(MemberFact.effective))
    if member_ids is not None:
        query = query.where(col(MemberFact.member_id).in_(member_ids))
    latest: dict[int, MemberFact] = {}
    for fact in session.execute(query).scalars():
        latest[fact.member_id] = fact
    return latest


# Roles that name someone who is not an employee: asking for one is an outsider's attempt to
# join, refused by the constitution (exit 3). Any other unknown role is a slip (exit 1).
OUTSIDER_ROLES = ("investor", "shareholder", "company", "volunteer", "contractor", "consultant",
                  "agency", "partner", "owner", "trustee", "director", "firm", "funder", "lender",
                  "member of the public", "outsider", "buyer")


def did_you_mean(session: Session, handle: str) -> str:
    """'; did you mean 'ann'?' for a handle that names no member ('' when none is near)."""
    import difflib

    handles = list(session.execute(select(col(Member.handle))).scalars())
    same_but_case = [h for h in handles if h.lower() == handle.lower()]
    if same_but_case:
        return f"; did you mean {same_but_case[0]!r}? (handles are case-sensitive)"
    close = difflib.get_close_matches(handle, handles, n=3, cutoff=0.6)
    return f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


def no_such_member(session: Session, handle: str) -> NotFound:
    """The error for a handle that names no member: a typo (exit 1), with the nearest handles."""
    return NotFound(f"no member with handle {handle!r}{did_you_mean(session, handle)}")


def check_role(role: str) -> None:
    """An unknown role that is no outsider's is a typo: exit 1 with the roles to choose from."""
    import difflib

    from swp.errors import InputError
    from swp.rules import EMPLOYEE_ROLES

    if role in EMPLOYEE_ROLES or role in OUTSIDER_ROLES:
        return
    words = role.replace("-", " ").split()
    guess = difflib.get_close_matches(role, EMPLOYEE_ROLES, n=1, cutoff=0.5)
    if not guess and any(w in ("social", "worker", "practitioner", "sw") for w in words):
        guess = ["practitioner"]
    hint = f"; did you mean {guess[0]!r}?" if guess else ""
    raise InputError(f"not a role: {role!r}; a member's role is {', '.join(EMPLOYEE_ROLES)} "
                     f"(a social worker is a practitioner){hint}")


def find_member(session: Session, handle: str | None) -> Member:
    """The member with this handle, current or former; a handle that names none is a typo."""
    member = session.execute(select(Member).where(col(Member.handle) == handle)).scalar_one_or_none()
    if member is None:
        raise no_such_member(session, handle or "")
    return member


def current_managers(session: Session) -> list[str]:
    members = current_members(session)
    facts = latest_facts(session, [cast(int, m.id) for m in members])  # stored members: ids are set
    return [m.handle for m in members if (fact := facts.get(cast(int, m.id))) and fact.role == "manager"]


def ever_had_manager(session: Session) -> bool:
    """The founding is over once the practice has had a manager, whatever became of them."""
    return session.execute(select(col(MemberFact.id)).where(col(MemberFact.role) == "manager")
                           .limit(1)).first() is not None


def require_manager(session: Session, actor: str | None, doing: str) -> None:
    """Founding: until the practice has had a manager, anyone may. Then --as a current
    manager; and if it has none any more, the founding does not open again: --as a current
    member, named in the audit log."""
    managers = current_managers(session)
    if not managers:
        if not ever_had_manager(session):
            return
        if actor is None:
            raise PermissionDenied(f"{doing} needs --as a current member: the practice has no "
                                   "current manager, and its founding is over")
        require_member(session, actor, doing)
        return
    if actor is None:
        raise PermissionDenied(f"{doing} needs --as a current manager ({', '.join(managers)})")
    if actor not in managers:
        if session.execute(select(col(Member.id)).where(col(Member.handle) == actor)).first() is None:
            raise no_such_member(session, actor)
        raise PermissionDenied(f"{doing} needs --as a current manager; {actor!r} is not one")


def require_member(session: Session, actor: str | None, doing: str) -> Member:
    """--as must name a current member."""
    if actor is None:
        raise PermissionDenied(f"{doing} needs --as HANDLE, a current member")
    member = session.execute(select(Member).where(col(Member.handle) == actor)).scalar_one_or_none()
    if member is None:
        raise PermissionDenied(f"{doing}: {actor!r} is not a member of the practice"
                               f"{did_you_mean(session, actor)}")
    if member.left_on is not None and member.left_on < today():
        raise PermissionDenied(f"{doing}: {actor!r} left the practice on {member.left_on}")
    if member.employed_since > today():
        raise PermissionDenied(f"{doing}: {actor}'s membership begins on {member.employed_since} "
                               "(their first day of employment)")
    return member
