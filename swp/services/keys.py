"""Members' keys in the register: enrolling one where a member has none, rotating one.

The private keys themselves never come here (swp/identity.py keeps them in files)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from swp.errors import PermissionDenied, PreconditionError
from swp.services import audit
from swp.services.practice import get_practice
from swp.services.roles import find_member

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from swp.models import Member


@dataclass(frozen=True)
class KeyStatus:
    practice_uid: str
    sandbox: bool
    sandbox_seed: str | None
    member: bool
    fingerprint: str | None
    left: bool


def status(session: Session, handle: str) -> KeyStatus:
    from sqlalchemy import select
    from sqlmodel import col

    from swp.models import Member

    practice = get_practice(session)
    member = session.execute(select(Member).where(col(Member.handle) == handle)).scalar_one_or_none()
    assert practice.uid is not None  # every practice has had one since it was founded or upgraded
    return KeyStatus(practice.uid, bool(practice.sandbox), practice.sandbox_seed, member is not None,
                     member.key_fingerprint if member else None,
                     bool(member and member.left_on is not None))


def _set_key(member: Member, public_key: str) -> None:
    from swp.identity import fingerprint

    member.public_key = public_key
    member.key_fingerprint = fingerprint(public_key)


def enrol(session: Session, *, actor: str, public_key: str) -> str:
    """A member with no key yet (admitted before keys existed) enrols their first one, signed
    by that key itself. Visible to them at once: `swp member show`, every statement."""
    member = find_member(session, actor)
    if member.left_on is not None:
        raise PermissionDenied(f"{actor} has left the practice; a former member enrols no key")
    if member.public_key is not None:
        raise PreconditionError(f"{actor} already has a key enrolled ({member.key_fingerprint}); "
                                "change it with 'swp key rotate'")
    _set_key(member, public_key)
    session.add(member)
    session.flush()
    audit.act(session, "key.enrolled", {"handle": actor, "public_key": public_key})
    assert member.key_fingerprint is not None  # set by _set_key
    return member.key_fingerprint


def rotate(session: Session, *, actor: str, public_key: str) -> str:
    """Replace the acting member's key with a new one, signed by the old key."""
    member = find_member(session, actor)
    if member.public_key == public_key:
        raise PreconditionError("the new key is the key already enrolled")
    _set_key(member, public_key)
    session.add(member)
    session.flush()
    audit.act(session, "key.rotated", {"handle": actor, "public_key": public_key})
    assert member.key_fingerprint is not None  # set by _set_key
    return member.key_fingerprint
