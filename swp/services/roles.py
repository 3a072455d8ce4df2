"""Who may do what (SPEC section 8): once the practice has a manager, the business side needs
--as a current manager; proposing and voting need --as a current member."""

from __future__ import annotations

from datetime import date

from sqlalchemy import or_, select

from swp.clock import today
from swp.errors import NotFound, PermissionDenied
from swp.models import Member, MemberFact


def current_members(session, on: date | None = None) -> list[Member]:
    """Members who have not left before `on` (today): admitted, and still employed."""
    on = on or today()
    query = select(Member).where(or_(Member.left_on.is_(None), Member.left_on >= on))
    return list(session.execute(query.order_by(Member.handle)).scalars())


def latest_facts(session, member_ids: list[int] | None = None) -> dict[int, MemberFact]:
    """Each member's latest role/hours/pay row (by effective date)."""
    query = select(MemberFact).order_by(MemberFact.member_id, MemberFact.effective)
    if member_ids is not None:
        query = query.where(MemberFact.member_id.in_(member_ids))
    latest: dict[int, MemberFact] = {}
    for fact in session.execute(query).scalars():
        latest[fact.member_id] = fact
    return latest


def find_member(session, handle: str) -> Member:
    member = session.execute(select(Member).where(Member.handle == handle)).scalar_one_or_none()
    if member is None:
        raise NotFound(f"no member with handle {handle!r}")
    return member


def current_managers(session) -> list[str]:
    members = current_members(session)
    facts = latest_facts(session, [m.id for m in members])
    return [m.handle for m in members if facts.get(m.id) and facts[m.id].role == "manager"]


def require_manager(session, actor: str | None, doing: str) -> None:
    """Founding: until the practice has had a manager, anyone may. Then --as a current
    manager; and if it has none any more, the founding does not open again: --as a current
    member, named in the audit log."""
    managers = current_managers(session)
    if not managers:
        ever = session.execute(select(MemberFact.id).where(MemberFact.role == "manager")
                               .limit(1)).first()
        if ever is None:
            return
        if actor is None:
            raise PermissionDenied(f"{doing} needs --as a current member: the practice has no "
                                   "current manager, and its founding is over")
        require_member(session, actor, doing)
        return
    if actor is None:
        raise PermissionDenied(f"{doing} needs --as a current manager ({', '.join(managers)})")
    if actor not in managers:
        raise PermissionDenied(f"{doing} needs --as a current manager; {actor!r} is not one")


def require_member(session, actor: str | None, doing: str) -> Member:
    """--as must name a current member."""
    if actor is None:
        raise PermissionDenied(f"{doing} needs --as HANDLE, a current member")
    member = session.execute(select(Member).where(Member.handle == actor)).scalar_one_or_none()
    if member is None:
        raise PermissionDenied(f"{doing}: {actor!r} is not a member of the practice")
    if member.left_on is not None and member.left_on < today():
        raise PermissionDenied(f"{doing}: {actor!r} left the practice on {member.left_on}")
    return member
